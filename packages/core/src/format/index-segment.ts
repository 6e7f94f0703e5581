/**
 * Index segments (`index/<id>`): which pack holds each blob, where, and how. Segments are the
 * repository's authoritative index; the local LevelDB cache is rebuilt from them. Binary payload of
 * a sealed object of kind "index" (docs/format.md §Index segments):
 *
 *   "CRNI" ‖ version u8 (1) ‖ 3 zero bytes ‖ superseded count u32 ‖ superseded segment id[32]*
 *   ‖ pack count u32 ‖ pack*
 *   pack  = pack id[32] ‖ entry count u32 ‖ entry*   (entry as in pack headers, 50 bytes)
 */
import { CairnError } from '../errors.js';
import { BLOB_ID_LENGTH } from './blob.js';
import { ByteReader, ByteWriter } from './bytes.js';
import { PACK_ENTRY_LENGTH, type PackEntry, readPackEntry, writePackEntry } from './pack-header.js';

/** The blobs of one pack as an index segment lists them. */
export interface IndexedPack {
  packId: Uint8Array;
  entries: PackEntry[];
}

/** Decoded index segment. */
export interface IndexSegment {
  /** Segments this one replaces (written by prune/repair; readers may ignore the old ones). */
  supersedes: Uint8Array[];
  packs: IndexedPack[];
}

const MAGIC = new TextEncoder().encode('CRNI');
const VERSION = 1;

/** Encodes a segment payload (to be sealed as an "index" object). */
export function encodeIndexSegment(segment: IndexSegment): Uint8Array {
  let size = 4 + 4 + 4 + segment.supersedes.length * BLOB_ID_LENGTH + 4;
  for (const p of segment.packs) size += BLOB_ID_LENGTH + 4 + p.entries.length * PACK_ENTRY_LENGTH;
  const w = new ByteWriter(size).raw(MAGIC).u8(VERSION).u8(0).u8(0).u8(0);
  w.u32(segment.supersedes.length);
  for (const id of segment.supersedes) w.raw(id);
  w.u32(segment.packs.length);
  for (const p of segment.packs) {
    w.raw(p.packId).u32(p.entries.length);
    for (const e of p.entries) writePackEntry(w, e);
  }
  return w.finish();
}

/** Decodes and validates a segment payload; throws CORRUPT_DATA naming the bad field. */
export function decodeIndexSegment(payload: Uint8Array, name = 'index segment'): IndexSegment {
  const r: ByteReader = new ByteReader(payload, name);
  const magic = r.bytes(4, 'magic');
  if (!MAGIC.every((b, i) => magic[i] === b)) r.fail('magic', 'not an index segment');
  const version = r.u8('version');
  if (version !== VERSION) {
    // UNSUPPORTED_VERSION like pack headers and sealed objects (was CORRUPT_DATA): a segment from a
    // newer Cairn is not damage, and must not be reported as such.
    throw new CairnError(
      'UNSUPPORTED_VERSION',
      `${name}: index segment version ${version} is not supported (this build reads 1)`,
    );
  }
  r.reserved(3);
  const nSup = r.u32('superseded count');
  if (nSup * BLOB_ID_LENGTH > r.remaining) r.fail('superseded count', `${nSup} is more than the segment holds`);
  const supersedes: Uint8Array[] = [];
  for (let i = 0; i < nSup; i++) supersedes.push(r.copy(BLOB_ID_LENGTH, 'superseded id'));
  const nPacks = r.u32('pack count');
  if (nPacks * (BLOB_ID_LENGTH + 4) > r.remaining) r.fail('pack count', `${nPacks} is more than the segment holds`);
  const packs: IndexedPack[] = [];
  for (let i = 0; i < nPacks; i++) {
    const packId = r.copy(BLOB_ID_LENGTH, 'pack id');
    const n = r.u32('entry count');
    if (n * PACK_ENTRY_LENGTH > r.remaining) r.fail(`pack ${i} entry count`, `${n} is more than the segment holds`);
    const entries: PackEntry[] = [];
    for (let j = 0; j < n; j++) entries.push(readPackEntry(r, `pack ${i} entry ${j}`));
    packs.push({ packId, entries });
  }
  r.end();
  return { supersedes, packs };
}
