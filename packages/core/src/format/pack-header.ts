/**
 * Pack header and trailer encoding (format version 1; see docs/format.md §Packs).
 *
 *   pack    = blob* ‖ sealed header ‖ trailer
 *   trailer = header length (u32 LE) ‖ "CAIRNPK1"
 *   header  = "CRNH" ‖ version u8 (1) ‖ 3 zero bytes ‖ count u32 ‖ entry*count   (then sealed)
 *   entry   = type u8 ‖ compression u8 ‖ offset u64 ‖ length u32 ‖ raw length u32 ‖ id[32]
 *
 * Guarantees: a parsed header describes blobs that exactly tile the pack's blob area, in order,
 * with no gaps or overlaps; every length is checked before it is trusted.
 */
import { compressionFromId, compressionId } from '../compress/index.js';
import { randomNonce, xchacha20poly1305Open, xchacha20poly1305Seal } from '../crypto/index.js';
import { CairnError } from '../errors.js';
import {
  BLOB_ID_LENGTH,
  BLOB_OVERHEAD,
  BLOB_TYPE_CODES,
  type BlobMeta,
  blobTypeFromCode,
  MAX_BLOB_RAW_LENGTH,
} from './blob.js';
import { ByteReader, ByteWriter } from './bytes.js';

/** A blob's place in a pack. */
export interface PackEntry extends BlobMeta {
  /** Byte offset of the sealed blob from the start of the pack. */
  offset: number;
  /** Length of the sealed blob (payload + 40 bytes). */
  length: number;
}

export const PACK_TRAILER_MAGIC = new TextEncoder().encode('CAIRNPK1');
export const PACK_TRAILER_LENGTH = 4 + PACK_TRAILER_MAGIC.length;
const HEADER_MAGIC = new TextEncoder().encode('CRNH');
const HEADER_VERSION = 1;
const HEADER_FIXED = 4 + 1 + 3 + 4;
export const PACK_ENTRY_LENGTH = 1 + 1 + 8 + 4 + 4 + BLOB_ID_LENGTH;
const HEADER_AAD = new TextEncoder().encode('cairn.pack-header.v1');
/** Largest sealed header a reader accepts (64 MiB ≈ 1.3 million blobs). */
export const MAX_PACK_HEADER_LENGTH = 64 * 1024 * 1024;

/** Writes one 50-byte entry (shared by pack headers and index segments). */
export function writePackEntry(w: ByteWriter, e: PackEntry): void {
  w.u8(BLOB_TYPE_CODES[e.type]).u8(compressionId(e.compression)).u64(e.offset).u32(e.length).u32(e.rawLength).raw(e.id);
}

/**
 * Reads one 50-byte entry, checking what holds for any blob: a known type and compression, a
 * sealed length of at least {@link BLOB_OVERHEAD}, a raw length within the limit.
 */
export function readPackEntry(r: ByteReader, label: string): PackEntry {
  const typeCode = r.u8(`${label} type`);
  const type = blobTypeFromCode(typeCode);
  if (!type) return r.fail(`${label} type`, `unknown blob type ${typeCode}`);
  const compression = compressionFromId(r.u8(`${label} compression`));
  const offset = r.u64(`${label} offset`);
  const length = r.u32(`${label} length`);
  const rawLength = r.u32(`${label} raw length`);
  const id = r.copy(BLOB_ID_LENGTH, `${label} id`);
  if (length < BLOB_OVERHEAD) r.fail(`${label} length`, `${length} is shorter than a sealed blob`);
  if (rawLength > MAX_BLOB_RAW_LENGTH) r.fail(`${label} raw length`, `${rawLength} exceeds the limit`);
  return { type, compression, offset, length, rawLength, id };
}

/** Encodes and seals the header for `entries`; returns header ‖ trailer. */
export function encodePackTail(dataKey: Uint8Array, entries: readonly PackEntry[]): Uint8Array {
  const w = new ByteWriter(HEADER_FIXED + entries.length * PACK_ENTRY_LENGTH);
  w.raw(HEADER_MAGIC).u8(HEADER_VERSION).u8(0).u8(0).u8(0).u32(entries.length);
  for (const e of entries) writePackEntry(w, e);
  const nonce = randomNonce();
  const ct = xchacha20poly1305Seal(dataKey, nonce, w.finish(), HEADER_AAD);
  const headerLength = nonce.length + ct.length;
  const out = new ByteWriter(headerLength + PACK_TRAILER_LENGTH);
  return out.raw(nonce).raw(ct).u32(headerLength).raw(PACK_TRAILER_MAGIC).finish();
}

/** Reads the trailer (the last {@link PACK_TRAILER_LENGTH} bytes) and returns the sealed header length. */
export function decodePackTrailer(trailer: Uint8Array, packSize: number): number {
  const r: ByteReader = new ByteReader(trailer, 'pack trailer');
  const headerLength = r.u32('header length');
  const magic = r.bytes(PACK_TRAILER_MAGIC.length, 'magic');
  r.end();
  if (!PACK_TRAILER_MAGIC.every((b, i) => magic[i] === b)) r.fail('magic', 'not a Cairn pack (bad trailer magic)');
  const minHeader = BLOB_OVERHEAD + HEADER_FIXED;
  if (headerLength < minHeader || headerLength > MAX_PACK_HEADER_LENGTH) {
    r.fail('header length', `${headerLength} is out of range`);
  }
  if (headerLength + PACK_TRAILER_LENGTH > packSize) {
    r.fail('header length', `${headerLength} exceeds the pack size ${packSize}`);
  }
  return headerLength;
}

/**
 * Opens a sealed header and validates every entry against the pack size.
 * Throws AUTH_FAILED when the header was altered, CORRUPT_DATA when it is inconsistent.
 */
export function decodePackHeader(dataKey: Uint8Array, sealedHeader: Uint8Array, packSize: number): PackEntry[] {
  if (sealedHeader.length < BLOB_OVERHEAD) {
    throw new CairnError('CORRUPT_DATA', 'pack header: shorter than a sealed header');
  }
  let plain: Uint8Array;
  try {
    plain = xchacha20poly1305Open(dataKey, sealedHeader.subarray(0, 24), sealedHeader.subarray(24), HEADER_AAD);
  } catch (err) {
    throw new CairnError('AUTH_FAILED', 'pack header failed authentication: the pack was altered or damaged', {
      cause: err,
    });
  }
  const r: ByteReader = new ByteReader(plain, 'pack header');
  const magic = r.bytes(4, 'magic');
  if (!HEADER_MAGIC.every((b, i) => magic[i] === b)) r.fail('magic', 'bad header magic');
  const version = r.u8('version');
  if (version !== HEADER_VERSION) {
    throw new CairnError('UNSUPPORTED_VERSION', `pack header version ${version} is not supported (this build reads 1)`);
  }
  r.reserved(3);
  const count = r.u32('count');
  if (count * PACK_ENTRY_LENGTH !== r.remaining) r.fail('count', `${count} entries do not match the header size`);
  const blobArea = packSize - sealedHeader.length - PACK_TRAILER_LENGTH;
  const entries: PackEntry[] = [];
  let expectedOffset = 0;
  for (let i = 0; i < count; i++) {
    const e = readPackEntry(r, `entry ${i}`);
    if (e.offset !== expectedOffset) r.fail(`entry ${i} offset`, `${e.offset} should be ${expectedOffset}`);
    expectedOffset = e.offset + e.length;
    if (expectedOffset > blobArea) r.fail(`entry ${i} length`, 'blob extends past the blob area');
    entries.push(e);
  }
  if (expectedOffset !== blobArea) {
    throw new CairnError('CORRUPT_DATA', `pack header: blobs cover ${expectedOffset} of ${blobArea} bytes`);
  }
  return entries;
}
