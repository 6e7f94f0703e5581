/**
 * Where a blob lives: its pack and byte range, plus what is needed to open it without reading the
 * pack header. Encoded in 50 bytes for the LevelDB cache:
 *
 *   pack id[32] ‖ offset u64 ‖ length u32 ‖ raw length u32 ‖ type u8 ‖ compression u8   (LE)
 *
 * (the fields of a 50-byte pack/segment entry, reordered, with the pack id instead of the blob id).
 */
import { compressionFromId } from '../compress/index.js';
import { CairnError } from '../errors.js';
import { type BlobMeta, blobTypeFromCode } from '../format/blob.js';
import { ByteReader, readU32LE, toHex } from '../format/bytes.js';
import type { PackEntry } from '../format/pack-header.js';

/** A blob's location and metadata. */
export interface BlobLocation extends BlobMeta {
  /** Pack id (hex). */
  packId: string;
  offset: number;
  length: number;
}

export const BLOB_LOCATION_LENGTH = 32 + 8 + 4 + 4 + 1 + 1;

/** Location of a pack entry in pack `packId`. */
export function locationOf(packId: string, entry: PackEntry): BlobLocation {
  return {
    packId,
    id: entry.id,
    type: entry.type,
    compression: entry.compression,
    rawLength: entry.rawLength,
    offset: entry.offset,
    length: entry.length,
  };
}

/** Reads a u64 that the writer guaranteed fits a safe integer (entries are validated on the way in). */
function u64At(b: Uint8Array, at: number): number {
  return readU32LE(b, at + 4) * 0x100000000 + readU32LE(b, at);
}

/**
 * The location of an encoded entry (`entry[at..at+50]`, pack-header layout) in pack `packIdHex`;
 * the id is copied. The entry must have been validated (pending entries and segment views are).
 */
export function locationFromEntry(packIdHex: string, entry: Uint8Array, at: number): BlobLocation {
  const type = blobTypeFromCode(entry[at]!);
  if (!type) throw new CairnError('CORRUPT_DATA', 'index entry: unknown type');
  return {
    packId: packIdHex,
    id: entry.slice(at + 18, at + 50),
    type,
    compression: compressionFromId(entry[at + 1]!),
    rawLength: readU32LE(entry, at + 14),
    offset: u64At(entry, at + 2),
    length: readU32LE(entry, at + 10),
  };
}

export function decodeBlobLocation(id: Uint8Array, bytes: Uint8Array): BlobLocation {
  if (bytes.length !== BLOB_LOCATION_LENGTH) {
    // Let the checked reader name the problem.
    const r: ByteReader = new ByteReader(bytes, 'index cache entry');
    r.bytes(BLOB_LOCATION_LENGTH, 'location');
    r.end();
  }
  const type = blobTypeFromCode(bytes[48]!);
  const compressionCode = bytes[49]!;
  if (!type || compressionCode > 2) {
    throw new CairnError('CORRUPT_DATA', 'index cache entry: unknown type or compression');
  }
  const offset = u64At(bytes, 32);
  if (offset > Number.MAX_SAFE_INTEGER) throw new CairnError('CORRUPT_DATA', 'index cache entry: offset too large');
  return {
    packId: toHex(bytes.subarray(0, 32)),
    id,
    type,
    compression: compressionFromId(compressionCode),
    rawLength: readU32LE(bytes, 44),
    offset,
    length: readU32LE(bytes, 40),
  };
}
