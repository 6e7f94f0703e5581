/**
 * LZ4 block compression for blobs through `lz4-napi` (prebuilt N-API, the lz4_flex crate). Its
 * block format prepends the uncompressed size as a 4-byte little-endian integer, and its
 * decompressor allocates whatever that integer says; so {@link lz4Decompress} checks the prefix
 * against the size the caller expects before decoding anything.
 */
import { createRequire } from 'node:module';
import type * as Lz4Napi from 'lz4-napi';
import { CairnError } from '../errors.js';

/** Bytes of the little-endian uncompressed-size prefix lz4-napi writes before the LZ4 block. */
export const LZ4_SIZE_PREFIX_LENGTH = 4;

let lz4: typeof Lz4Napi | undefined;

/** Loads lz4-napi on first use, so a missing binary only breaks LZ4, not the whole engine. */
function binding(): typeof Lz4Napi {
  if (lz4) return lz4;
  try {
    lz4 = createRequire(import.meta.url)('lz4-napi') as typeof Lz4Napi;
  } catch (cause) {
    throw new CairnError('UNSUPPORTED_ALGORITHM', 'lz4: the native lz4-napi binary failed to load on this platform', {
      cause,
    });
  }
  return lz4;
}

/** LZ4-compresses `raw`: the 4-byte size prefix followed by one LZ4 block. */
export function lz4Compress(raw: Uint8Array): Uint8Array {
  return binding().compressSync(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength));
}

function corrupt(message: string, field: string, cause?: unknown): CairnError {
  return new CairnError('CORRUPT_DATA', `lz4 blob: ${message}`, { cause, details: { field } });
}

/**
 * Decodes `data` (size prefix + block) that must decode to exactly `rawLength` bytes. The prefix
 * is checked first, so a forged size never reaches the allocator; the output length is checked
 * after. Throws `CORRUPT_DATA` on any mismatch or decoding error.
 */
export function lz4Decompress(data: Uint8Array, rawLength: number): Uint8Array {
  if (data.length < LZ4_SIZE_PREFIX_LENGTH) {
    throw corrupt(`truncated: ${data.length} bytes, the size prefix alone is ${LZ4_SIZE_PREFIX_LENGTH}`, 'sizePrefix');
  }
  const declared = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0, true);
  if (declared !== rawLength) {
    throw corrupt(`size prefix (bytes 0-3) says ${declared} bytes, the blob's header says ${rawLength}`, 'sizePrefix');
  }
  const lz = binding(); // outside the try: a missing binary is UNSUPPORTED_ALGORITHM, not corruption
  let out: Uint8Array;
  try {
    out = lz.uncompressSync(data);
  } catch (cause) {
    throw corrupt('the LZ4 block does not decode (truncated or altered)', 'block', cause);
  }
  if (out.length !== rawLength) {
    throw corrupt(`decoded ${out.length} bytes, expected ${rawLength}`, 'block');
  }
  return out;
}
