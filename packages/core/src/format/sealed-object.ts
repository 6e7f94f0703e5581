/**
 * Sealed objects: the envelope of every repository file that is not a pack or a key file
 * (config, index segments, snapshots, locks). Format version 1 (docs/format.md §Sealed objects):
 *
 *   "CRNO" ‖ version u8 (1) ‖ kind u8 ‖ compression u8 ‖ reserved u8 (0) ‖ raw length u32 LE
 *   ‖ nonce[24] ‖ XChaCha20-Poly1305(data key, nonce, compressed payload, aad = the 12 header bytes)
 *
 * Guarantees: the kind, compression and raw length are authenticated, so a snapshot cannot be
 * passed off as an index segment or the other way round, and decompression is bounded by the
 * authenticated length.
 */
import { type Compression, compressBlob, compressionFromId, compressionId, decompressBlob } from '../compress/index.js';
import { randomNonce, xchacha20poly1305Open, xchacha20poly1305Seal } from '../crypto/index.js';
import { CairnError } from '../errors.js';
import { ByteReader, ByteWriter } from './bytes.js';

/** What a sealed object holds. Numeric values are part of the format. */
export type SealedObjectKind = 'config' | 'index' | 'snapshot' | 'lock' | 'audit';

const KIND_CODES: Record<SealedObjectKind, number> = { config: 1, index: 2, snapshot: 3, lock: 4, audit: 5 };
const MAGIC = new TextEncoder().encode('CRNO');
const VERSION = 1;
const HEADER_LENGTH = 12;
/** Largest payload a sealed object may hold once decompressed (256 MiB). */
export const MAX_SEALED_OBJECT_RAW_LENGTH = 256 * 1024 * 1024;

/** Compresses (when useful) and seals `payload` as an object of `kind`. */
export function sealObject(
  dataKey: Uint8Array,
  kind: SealedObjectKind,
  payload: Uint8Array,
  compression: Compression = 'none',
): Uint8Array {
  if (payload.length > MAX_SEALED_OBJECT_RAW_LENGTH) {
    throw new CairnError('INVALID_ARGUMENT', `${kind} object of ${payload.length} bytes is too large`);
  }
  const packed = compressBlob(payload, compression);
  const header = new ByteWriter(HEADER_LENGTH)
    .raw(MAGIC)
    .u8(VERSION)
    .u8(KIND_CODES[kind])
    .u8(compressionId(packed.compression))
    .u8(0)
    .u32(payload.length)
    .finish();
  const nonce = randomNonce();
  const ct = xchacha20poly1305Seal(dataKey, nonce, packed.data, header);
  return new ByteWriter(HEADER_LENGTH + nonce.length + ct.length).raw(header).raw(nonce).raw(ct).finish();
}

/**
 * Opens a sealed object, checking it is of the expected kind.
 * Throws CORRUPT_DATA (malformed), UNSUPPORTED_VERSION, or AUTH_FAILED (altered or wrong key).
 */
export function openObject(
  dataKey: Uint8Array,
  kind: SealedObjectKind,
  bytes: Uint8Array,
  name: string = kind,
): Uint8Array {
  const r: ByteReader = new ByteReader(bytes, name);
  const magic = r.bytes(4, 'magic');
  if (!MAGIC.every((b, i) => magic[i] === b)) r.fail('magic', 'not a Cairn sealed object');
  const version = r.u8('version');
  if (version !== VERSION) {
    throw new CairnError(
      'UNSUPPORTED_VERSION',
      `${name}: object format version ${version} is not supported (this build reads 1)`,
    );
  }
  const kindCode = r.u8('kind');
  if (kindCode !== KIND_CODES[kind]) r.fail('kind', `expected a ${kind} object, found kind ${kindCode}`);
  const compression = compressionFromId(r.u8('compression'));
  r.reserved(1);
  const rawLength = r.u32('raw length');
  if (rawLength > MAX_SEALED_OBJECT_RAW_LENGTH) r.fail('raw length', `${rawLength} exceeds the limit`);
  const nonce = r.bytes(24, 'nonce');
  if (r.remaining < 16) r.fail('ciphertext', 'shorter than the authentication tag');
  const sealed = r.bytes(r.remaining, 'ciphertext');
  let packed: Uint8Array;
  try {
    packed = xchacha20poly1305Open(dataKey, nonce, sealed, bytes.subarray(0, HEADER_LENGTH));
  } catch (err) {
    throw new CairnError(
      'AUTH_FAILED',
      `${name} failed authentication: it was altered, damaged or sealed with another key`,
      {
        cause: err,
        details: { object: name },
      },
    );
  }
  return decompressBlob(packed, compression, rawLength, MAX_SEALED_OBJECT_RAW_LENGTH);
}

/** Seals a JSON value. */
export function sealJson(
  dataKey: Uint8Array,
  kind: SealedObjectKind,
  value: unknown,
  compression: Compression = 'none',
): Uint8Array {
  return sealObject(dataKey, kind, new TextEncoder().encode(JSON.stringify(value)), compression);
}

/** Opens a sealed JSON object; the caller validates the shape. */
export function openJson(dataKey: Uint8Array, kind: SealedObjectKind, bytes: Uint8Array, name: string = kind): unknown {
  const text = new TextDecoder('utf-8', { fatal: true });
  try {
    return JSON.parse(text.decode(openObject(dataKey, kind, bytes, name)));
  } catch (err) {
    if (err instanceof CairnError) throw err;
    throw new CairnError('CORRUPT_DATA', `${name}: payload is not valid JSON`, { cause: err });
  }
}
