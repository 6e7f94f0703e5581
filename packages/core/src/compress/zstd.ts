/**
 * Zstandard for blobs, from whichever implementation this runtime has: `node:zlib` (Node >= 22.15,
 * preferred: nothing to install) or the optional `zstd-napi` package. Both write standard frames,
 * so a repository written with one reads with the other. Without either, every call throws a typed
 * `UNSUPPORTED_ALGORITHM` error and {@link zstdAvailable} is false.
 *
 * Decompression is bounded: the frame header's content size, when present, must equal the size the
 * caller expects, and the output can never grow past that size (it is decoded into a buffer of
 * exactly that size, or under `maxOutputLength`), whatever the frame claims.
 */
import { createRequire } from 'node:module';
import zlib from 'node:zlib';
import { CairnError } from '../errors.js';

/** The implementations zstd can come from. */
export type ZstdImplementation = 'node:zlib' | 'zstd-napi';

/** One way of running zstd in this process. */
interface ZstdBackend {
  readonly name: ZstdImplementation;
  compress(raw: Uint8Array, level: number): Uint8Array;
  /** Decodes `data`, producing at most `rawLength` bytes (more is an error). */
  decompress(data: Uint8Array, rawLength: number): Uint8Array;
}

/** The zstd parts of node:zlib (Node >= 22.15), absent from the Node 20 type definitions. */
interface ZlibWithZstd {
  zstdCompressSync(buf: Uint8Array, options: object): Buffer;
  zstdDecompressSync(buf: Uint8Array, options: object): Buffer;
  constants: { ZSTD_c_compressionLevel: number };
}

/** The parts of zstd-napi used here: its high-level compressor and its raw binding. */
interface ZstdNapi {
  compress(data: Uint8Array, parameters: { compressionLevel: number }): Buffer;
}
interface ZstdNapiBinding {
  DCtx: new () => { decompress(dst: Uint8Array, src: Uint8Array): number };
}

function nodeZlibBackend(): ZstdBackend | undefined {
  const z = zlib as unknown as Partial<ZlibWithZstd>;
  if (typeof z.zstdCompressSync !== 'function' || typeof z.zstdDecompressSync !== 'function') return undefined;
  const zz = z as ZlibWithZstd;
  return {
    name: 'node:zlib',
    compress: (raw, level) =>
      zz.zstdCompressSync(raw, {
        params: { [zz.constants.ZSTD_c_compressionLevel]: level },
        // Lets zstd record the content size in the frame header (ignored by Node versions without it).
        pledgedSrcSize: raw.length,
      }),
    // maxOutputLength must be >= 1; the exact-length check in the codec catches 1 extra byte.
    decompress: (data, rawLength) => zz.zstdDecompressSync(data, { maxOutputLength: Math.max(rawLength, 1) }),
  };
}

function zstdNapiBackend(): ZstdBackend | undefined {
  let api: ZstdNapi;
  let binding: ZstdNapiBinding;
  try {
    const req = createRequire(import.meta.url);
    api = req('zstd-napi') as ZstdNapi;
    binding = req('zstd-napi/binding') as ZstdNapiBinding;
  } catch {
    return undefined;
  }
  let dctx: InstanceType<ZstdNapiBinding['DCtx']> | undefined;
  return {
    name: 'zstd-napi',
    compress: (raw, level) => api.compress(raw, { compressionLevel: level }),
    decompress: (data, rawLength) => {
      // Not zstd-napi's high-level decompress: that one allocates whatever the frame header claims.
      dctx ??= new binding.DCtx();
      const out = Buffer.allocUnsafeSlow(rawLength);
      const written = dctx.decompress(out, data);
      return out.subarray(0, written);
    },
  };
}

let backend: ZstdBackend | null | undefined;

/** The zstd implementation in use, chosen on first call; undefined when there is none. */
function zstdBackend(): ZstdBackend | undefined {
  if (backend === undefined) backend = nodeZlibBackend() ?? zstdNapiBackend() ?? null;
  return backend ?? undefined;
}

/** True when this runtime can compress and decompress zstd blobs. */
export function zstdAvailable(): boolean {
  return zstdBackend() !== undefined;
}

/** Which implementation runs zstd here (`node:zlib` or `zstd-napi`), or undefined. */
export function zstdImplementation(): ZstdImplementation | undefined {
  return zstdBackend()?.name;
}

/** Compresses `raw` into one zstd frame at `level`. Throws `UNSUPPORTED_ALGORITHM` without zstd. */
export function zstdCompress(raw: Uint8Array, level: number): Uint8Array {
  return requireZstd().compress(raw, level);
}

/**
 * Decodes `data`, which must hold zstd frame(s) decoding to exactly `rawLength` bytes. A header
 * that records a different size is refused before any allocation; output is bounded by
 * `rawLength` whatever the frames contain. Throws `CORRUPT_DATA` on any mismatch.
 */
export function zstdDecompress(data: Uint8Array, rawLength: number): Uint8Array {
  const zstd = requireZstd();
  const header = readZstdFrameHeader(data);
  if (header.dictionaryId !== 0) {
    throw corrupt(`needs dictionary ${header.dictionaryId}; Cairn never writes dictionary frames`, 'dictionaryId');
  }
  if (header.contentSize !== undefined && header.contentSize !== rawLength) {
    throw corrupt(`header says ${header.contentSize} bytes, the blob's header says ${rawLength}`, 'contentSize');
  }
  let out: Uint8Array;
  try {
    out = zstd.decompress(data, rawLength);
  } catch (cause) {
    throw corrupt(`does not decode to ${rawLength} bytes (truncated, altered or too long)`, 'frame', cause);
  }
  if (out.length !== rawLength) throw corrupt(`decoded ${out.length} bytes, expected ${rawLength}`, 'frame');
  return out;
}

/** The backend, or the typed error saying there is none. */
function requireZstd(): ZstdBackend {
  const b = zstdBackend();
  if (!b) {
    throw new CairnError(
      'UNSUPPORTED_ALGORITHM',
      'zstd is not available in this runtime: use Node >= 22.15, or install the optional package zstd-napi',
    );
  }
  return b;
}

const ZSTD_MAGIC = 0xfd2fb528;

/** What a zstd frame header says about the frame's decompressed size. */
export interface ZstdFrameHeader {
  /** Decompressed size in bytes, or undefined when the header does not record it. */
  contentSize: number | undefined;
  /** Dictionary id (0 = none). */
  dictionaryId: number;
}

function corrupt(message: string, field: string, cause?: unknown): CairnError {
  return new CairnError('CORRUPT_DATA', `zstd frame: ${message}`, { cause, details: { field } });
}

/**
 * Parses the header of the zstd frame at the start of `data` (RFC 8878 section 3.1.1.1) without
 * decoding anything. Throws `CORRUPT_DATA` naming the field when the header is malformed.
 */
export function readZstdFrameHeader(data: Uint8Array): ZstdFrameHeader {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.length < 5) throw corrupt(`truncated: ${data.length} bytes, a frame header needs at least 5`, 'header');
  const magic = view.getUint32(0, true);
  if (magic !== ZSTD_MAGIC) throw corrupt(`bad magic 0x${magic.toString(16)} at byte 0`, 'magic');
  const descriptor = data[4]!;
  const fcsFlag = descriptor >> 6;
  const singleSegment = (descriptor >> 5) & 1;
  if (descriptor & 0x08) throw corrupt('reserved bit of the frame header descriptor (byte 4) is set', 'descriptor');
  const didSize = [0, 1, 2, 4][descriptor & 3]!;
  const fcsSize = [singleSegment, 2, 4, 8][fcsFlag]!;
  let pos = 5 + (singleSegment ? 0 : 1); // Window_Descriptor is present unless single-segment
  const end = pos + didSize + fcsSize;
  if (data.length < end) throw corrupt(`truncated header: needs ${end} bytes, have ${data.length}`, 'header');

  let dictionaryId = 0;
  if (didSize === 1) dictionaryId = data[pos]!;
  else if (didSize === 2) dictionaryId = view.getUint16(pos, true);
  else if (didSize === 4) dictionaryId = view.getUint32(pos, true);
  pos += didSize;

  let contentSize: number | undefined;
  if (fcsSize === 1) contentSize = data[pos]!;
  else if (fcsSize === 2)
    contentSize = view.getUint16(pos, true) + 256; // RFC 8878: 2-byte sizes are offset by 256
  else if (fcsSize === 4) contentSize = view.getUint32(pos, true);
  else if (fcsSize === 8) {
    const big = view.getBigUint64(pos, true);
    if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt(`content size ${big} is absurd`, 'contentSize');
    contentSize = Number(big);
  }
  return { contentSize, dictionaryId };
}
