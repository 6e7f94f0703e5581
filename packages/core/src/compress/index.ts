/** Public exports of compress/: per-blob LZ4 / zstd / raw with bounded, checked decompression. */
export {
  COMPRESSION_IDS,
  type CompressedBlob,
  type Compression,
  compressBlob,
  compressionFromId,
  compressionId,
  DEFAULT_MAX_RAW_LENGTH,
  DEFAULT_ZSTD_LEVEL,
  decompressBlob,
} from './codec.js';
export { type ZstdImplementation, zstdAvailable, zstdImplementation } from './zstd.js';
