/**
 * Where a blob lives: its pack and byte range, plus what is needed to open it without reading the
 * pack header. Encoded in 50 bytes for the LevelDB cache.
 */
import { compressionFromId, compressionId } from '../compress/index.js';
import { CairnError } from '../errors.js';
import { BLOB_TYPE_CODES, type BlobMeta, blobTypeFromCode } from '../format/blob.js';
import { ByteReader, ByteWriter, toHex } from '../format/bytes.js';
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

export function encodeBlobLocation(loc: BlobLocation): Uint8Array {
  return new ByteWriter(BLOB_LOCATION_LENGTH)
    .raw(Buffer.from(loc.packId, 'hex'))
    .u64(loc.offset)
    .u32(loc.length)
    .u32(loc.rawLength)
    .u8(BLOB_TYPE_CODES[loc.type])
    .u8(compressionId(loc.compression))
    .finish();
}

export function decodeBlobLocation(id: Uint8Array, bytes: Uint8Array): BlobLocation {
  const r: ByteReader = new ByteReader(bytes, 'index cache entry');
  const packId = toHex(r.bytes(32, 'pack id'));
  const offset = r.u64('offset');
  const length = r.u32('length');
  const rawLength = r.u32('raw length');
  const type = blobTypeFromCode(r.u8('type'));
  const compression = compressionFromId(r.u8('compression'));
  r.end();
  if (!type || !compression) throw new CairnError('CORRUPT_DATA', 'index cache entry: unknown type or compression');
  return { packId, id, type, compression, rawLength, offset, length };
}
