/**
 * Content-defined chunking: FastCDC 2020 (64-bit gear hash, two bytes per step, normalized
 * chunking), bit-compatible with the Rust `fastcdc` crate's v2020 module, seeds included. One
 * WebAssembly kernel serves the three entry points: `fastcdc` (a buffer at once), `chunkStream`
 * (an async iterable, copies out) and `FastCdcChunker` (the zero-copy streaming hot path).
 */

export { type ChunkStreamOptions, chunkStream, type StreamChunk } from './chunk-stream.js';
export { CHUNKER_BUFFER_MAX, type FastCdcChunk, FastCdcChunker, type FastCdcChunkerOptions } from './chunker.js';
export { type FastCdcCut, fastcdc } from './fastcdc.js';
export {
  CHUNK_MAX_UPPER_BOUND,
  CHUNK_MIN_LOWER_BOUND,
  type ChunkerOptions,
  type ChunkerParams,
  type NormalizationLevel,
  resolveChunkerParams,
} from './params.js';
