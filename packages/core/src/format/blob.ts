/**
 * Blobs: the unit of storage inside packs. A blob is a chunk of file data or an encoded tree,
 * identified by the keyed BLAKE3 of its raw (uncompressed, unencrypted) bytes, compressed when that
 * helps, and sealed with XChaCha20-Poly1305 under the repository's data key.
 *
 * Guarantees: the associated data binds every sealed blob to its type, compression, raw length and
 * id, so a blob cannot be swapped for another or relabelled without failing authentication; opening
 * a blob re-hashes the raw bytes and compares the id, so a restore never returns bytes that are not
 * exactly what was backed up.
 */

import { compressBlobTransient, decompressBlobTransient } from '../compress/codec.js';
import { type Compression, compressionId } from '../compress/index.js';
import {
  fillRandomNonce,
  XCHACHA_NONCE_LENGTH,
  xchacha20poly1305Open,
  xchacha20poly1305SealInto,
} from '../crypto/index.js';
import { CairnError } from '../errors.js';
import { blake3 } from '../hashing/index.js';
import { ByteWriter, bytesEqual, toHex } from './bytes.js';

/** What a blob holds. Numeric values are part of the on-disk format. */
export type BlobType = 'data' | 'tree';

/** On-disk numeric code of each blob type. */
export const BLOB_TYPE_CODES: Readonly<Record<BlobType, number>> = { data: 0, tree: 1 };

/** Blob type for an on-disk code, or undefined if unknown. */
export function blobTypeFromCode(code: number): BlobType | undefined {
  return code === 0 ? 'data' : code === 1 ? 'tree' : undefined;
}

/** Bytes a sealed blob adds to its payload: 24-byte nonce and 16-byte tag. */
export const BLOB_OVERHEAD = 40;
/** Length of a blob id (keyed BLAKE3-256). */
export const BLOB_ID_LENGTH = 32;
/** Largest raw blob a reader accepts (64 MiB): bounds memory for any input, however crafted. */
export const MAX_BLOB_RAW_LENGTH = 64 * 1024 * 1024;

const BLOB_AAD_MAGIC = new TextEncoder().encode('cairn.blob.v1');

/** Metadata recorded for each blob in pack headers and index segments. */
export interface BlobMeta {
  type: BlobType;
  /** Keyed BLAKE3-256 of the raw bytes. */
  id: Uint8Array;
  compression: Compression;
  /** Length of the raw (uncompressed) bytes. */
  rawLength: number;
}

/** A blob ready to be appended to a pack. */
export interface SealedBlob extends BlobMeta {
  /** nonce ‖ ciphertext ‖ tag. */
  sealed: Uint8Array;
}

/** Keys a blob needs: `idKey` for ids, `dataKey` for sealing. */
export interface BlobKeys {
  dataKey: Uint8Array;
  idKey: Uint8Array;
}

/** The id of raw blob bytes under the repository's id key. */
export function blobId(idKey: Uint8Array, raw: Uint8Array): Uint8Array {
  return blake3(raw, { key: idKey });
}

/** Associated data of a sealed blob: magic ‖ type ‖ compression ‖ raw length (u32 LE) ‖ id. */
export function blobAad(meta: BlobMeta): Uint8Array {
  return new ByteWriter(BLOB_AAD_MAGIC.length + 1 + 1 + 4 + BLOB_ID_LENGTH)
    .raw(BLOB_AAD_MAGIC)
    .u8(BLOB_TYPE_CODES[meta.type])
    .u8(compressionId(meta.compression))
    .u32(meta.rawLength)
    .raw(meta.id)
    .finish();
}

/**
 * Compresses (when it shrinks the blob) and seals raw bytes whose id is already known.
 * `id` must be {@link blobId} of `raw`; the pipeline computes it once for dedup lookups.
 */
export function sealBlob(
  dataKey: Uint8Array,
  type: BlobType,
  id: Uint8Array,
  raw: Uint8Array,
  compression: Compression,
): SealedBlob {
  const packed = packBlob(type, id, raw, compression);
  const sealed = new Uint8Array(sealedLength(packed));
  sealPackedInto(dataKey, packed, sealed, 0);
  return { ...packed.meta, sealed };
}

/** A blob compressed but not yet sealed: what {@link sealPackedInto} needs. */
export interface PackedBlob {
  meta: BlobMeta;
  /** The compressed (or raw) payload to seal. */
  payload: Uint8Array;
}

/**
 * Compresses a blob when that shrinks it (first half of {@link sealBlob}). An LZ4 payload is a
 * view of the thread's codec memory: seal it before the next LZ4 call on this thread.
 */
export function packBlob(type: BlobType, id: Uint8Array, raw: Uint8Array, compression: Compression): PackedBlob {
  if (raw.length > MAX_BLOB_RAW_LENGTH) {
    throw new CairnError('INVALID_ARGUMENT', `blob of ${raw.length} bytes exceeds ${MAX_BLOB_RAW_LENGTH}`);
  }
  const packed = compressBlobTransient(raw, compression);
  return { meta: { type, id, compression: packed.compression, rawLength: raw.length }, payload: packed.data };
}

/** Bytes the sealed form of a packed blob takes. */
export function sealedLength(packed: PackedBlob): number {
  return packed.payload.length + BLOB_OVERHEAD;
}

/**
 * Seals a packed blob (nonce ‖ ciphertext ‖ tag) into `out` at `offset`, with a fresh random
 * nonce; returns the bytes written ({@link sealedLength}). Second half of {@link sealBlob}.
 */
export function sealPackedInto(dataKey: Uint8Array, packed: PackedBlob, out: Uint8Array, offset: number): number {
  const nonce = fillRandomNonce(out.subarray(offset, offset + XCHACHA_NONCE_LENGTH));
  return (
    XCHACHA_NONCE_LENGTH +
    xchacha20poly1305SealInto(dataKey, nonce, packed.payload, blobAad(packed.meta), out, offset + XCHACHA_NONCE_LENGTH)
  );
}

/** Computes the id and seals raw bytes in one step. */
export function encodeBlob(keys: BlobKeys, type: BlobType, raw: Uint8Array, compression: Compression): SealedBlob {
  return sealBlob(keys.dataKey, type, blobId(keys.idKey, raw), raw, compression);
}

/**
 * Authenticates, decrypts and decompresses a sealed blob, then checks its id.
 * Throws AUTH_FAILED if the bytes were altered, CORRUPT_DATA if sizes or the id do not match.
 */
export function openBlob(keys: BlobKeys, meta: BlobMeta, sealed: Uint8Array): Uint8Array {
  const raw = openBlobTransient(keys, meta, sealed);
  return meta.compression === 'lz4' ? raw.slice() : raw;
}

/**
 * {@link openBlob}, except that an LZ4 blob's bytes are a view of the thread's codec memory,
 * valid until the next LZ4 call on this thread (internal: for callers that write them at once).
 */
export function openBlobTransient(keys: BlobKeys, meta: BlobMeta, sealed: Uint8Array): Uint8Array {
  if (meta.rawLength > MAX_BLOB_RAW_LENGTH) {
    throw new CairnError('CORRUPT_DATA', `blob ${toHex(meta.id)}: raw length ${meta.rawLength} exceeds the limit`);
  }
  if (sealed.length < BLOB_OVERHEAD) {
    throw new CairnError(
      'CORRUPT_DATA',
      `blob ${toHex(meta.id)}: ${sealed.length} bytes is shorter than a sealed blob`,
    );
  }
  let payload: Uint8Array;
  try {
    payload = xchacha20poly1305Open(keys.dataKey, sealed.subarray(0, 24), sealed.subarray(24), blobAad(meta));
  } catch (err) {
    throw new CairnError('AUTH_FAILED', `blob ${toHex(meta.id)} failed authentication: it was altered or damaged`, {
      cause: err,
      details: { blobId: toHex(meta.id) },
    });
  }
  const raw = decompressBlobTransient(payload, meta.compression, meta.rawLength);
  if (!bytesEqual(blobId(keys.idKey, raw), meta.id)) {
    throw new CairnError('CORRUPT_DATA', `blob ${toHex(meta.id)}: content does not match its id`, {
      details: { blobId: toHex(meta.id) },
    });
  }
  return raw;
}
