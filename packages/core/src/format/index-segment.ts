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
import { BLOB_ID_LENGTH, BLOB_OVERHEAD, MAX_BLOB_RAW_LENGTH } from './blob.js';
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

// ---- in-place access: no object per entry ---------------------------------------------------------
//
// A segment of 100 000 entries decoded into `PackEntry` objects costs ~20 MiB of short-lived
// garbage; the index cache and compaction only need the bytes. `IndexSegmentView` validates a
// payload exactly as `decodeIndexSegment` does (same accepted inputs, same errors) and then gives
// access to each pack's section (pack id ‖ entry count ‖ entries) in place.

/** Bytes of a pack section before its entries: pack id ‖ entry count. */
export const PACK_SECTION_HEADER_LENGTH = BLOB_ID_LENGTH + 4;
/** Bytes of a segment payload before the superseded ids: magic ‖ version ‖ reserved ‖ count. */
const FIXED_LENGTH = 12;
/** Largest `u32` high word of a u64 that is still at most 2^53 - 1. */
const MAX_SAFE_HIGH_WORD = 0x1fffff;

/** A validated index segment payload, read in place (implements {@link IndexSegment} lazily). */
export class IndexSegmentView implements IndexSegment {
  private constructor(
    /** The payload (not copied: do not modify it while the view is in use). */
    readonly payload: Uint8Array,
    /** Name for error messages. */
    readonly name: string,
    /** Segments this one replaces (copies). */
    readonly supersedes: Uint8Array[],
    /** Start of each pack section in `payload`, then the payload's length. */
    private readonly bounds: Uint32Array,
    /** Total entries over every pack. */
    readonly entryCount: number,
  ) {}

  /**
   * Validates `payload` (everything {@link decodeIndexSegment} checks) without decoding entries.
   * Throws the same errors as {@link decodeIndexSegment}.
   */
  static parse(payload: Uint8Array, name = 'index segment'): IndexSegmentView {
    const view = IndexSegmentView.tryParse(payload, name);
    if (view) return view;
    // Invalid: let the reference decoder name the problem (it refuses exactly what tryParse does).
    decodeIndexSegment(payload, name);
    throw new CairnError('CORRUPT_DATA', `${name}: not a valid index segment`);
  }

  private static tryParse(payload: Uint8Array, name: string): IndexSegmentView | undefined {
    const n = payload.length;
    if (n < FIXED_LENGTH + 4) return undefined;
    for (let i = 0; i < MAGIC.length; i++) if (payload[i] !== MAGIC[i]) return undefined;
    if (payload[4] !== VERSION || payload[5] !== 0 || payload[6] !== 0 || payload[7] !== 0) return undefined;
    const dv = new DataView(payload.buffer, payload.byteOffset, n);
    const nSup = dv.getUint32(8, true);
    if (nSup * BLOB_ID_LENGTH > n - FIXED_LENGTH) return undefined;
    let pos = FIXED_LENGTH + nSup * BLOB_ID_LENGTH;
    if (pos + 4 > n) return undefined;
    const nPacks = dv.getUint32(pos, true);
    pos += 4;
    if (nPacks * PACK_SECTION_HEADER_LENGTH > n - pos) return undefined;
    const bounds = new Uint32Array(nPacks + 1);
    let entries = 0;
    for (let i = 0; i < nPacks; i++) {
      bounds[i] = pos;
      if (pos + PACK_SECTION_HEADER_LENGTH > n) return undefined;
      const count = dv.getUint32(pos + BLOB_ID_LENGTH, true);
      pos += PACK_SECTION_HEADER_LENGTH;
      if (count * PACK_ENTRY_LENGTH > n - pos) return undefined;
      for (let j = 0; j < count; j++, pos += PACK_ENTRY_LENGTH) {
        // type u8 ‖ compression u8 ‖ offset u64 ‖ length u32 ‖ raw length u32 ‖ id[32]
        if (payload[pos]! > 1 || payload[pos + 1]! > 2) return undefined;
        if (dv.getUint32(pos + 6, true) > MAX_SAFE_HIGH_WORD) return undefined;
        if (dv.getUint32(pos + 10, true) < BLOB_OVERHEAD) return undefined;
        if (dv.getUint32(pos + 14, true) > MAX_BLOB_RAW_LENGTH) return undefined;
      }
      entries += count;
    }
    if (pos !== n) return undefined;
    bounds[nPacks] = n;
    const supersedes: Uint8Array[] = [];
    for (let i = 0; i < nSup; i++) {
      const at = FIXED_LENGTH + i * BLOB_ID_LENGTH;
      supersedes.push(payload.slice(at, at + BLOB_ID_LENGTH));
    }
    return new IndexSegmentView(payload, name, supersedes, bounds, entries);
  }

  /** Number of packs the segment lists. */
  get packCount(): number {
    return this.bounds.length - 1;
  }

  /** Pack `i`'s whole section: pack id ‖ entry count u32 ‖ entries (a subarray of the payload). */
  section(i: number): Uint8Array {
    return this.payload.subarray(this.bounds[i], this.bounds[i + 1]);
  }

  /** Offset in {@link payload} of pack `i`'s section. */
  sectionOffset(i: number): number {
    return this.bounds[i]!;
  }

  /** Pack `i`'s id (a subarray of the payload). */
  packId(i: number): Uint8Array {
    const at = this.bounds[i]!;
    return this.payload.subarray(at, at + BLOB_ID_LENGTH);
  }

  /** Number of entries of pack `i`. */
  packEntryCount(i: number): number {
    return (this.bounds[i + 1]! - this.bounds[i]! - PACK_SECTION_HEADER_LENGTH) / PACK_ENTRY_LENGTH;
  }

  /**
   * Decoded packs, as {@link decodeIndexSegment} returns them (new objects on every call: for
   * callers that need `PackEntry` objects; the index cache reads the bytes instead).
   */
  get packs(): IndexedPack[] {
    return decodeIndexSegment(this.payload, this.name).packs;
  }
}

/** Size of a segment payload with `supersededCount` ids, `packCount` packs and `entryCount` entries. */
export function indexSegmentLength(supersededCount: number, packCount: number, entryCount: number): number {
  return (
    FIXED_LENGTH +
    supersededCount * BLOB_ID_LENGTH +
    4 +
    packCount * PACK_SECTION_HEADER_LENGTH +
    entryCount * PACK_ENTRY_LENGTH
  );
}

/**
 * Writes a segment payload from pack sections whose entries are already encoded (50 bytes each,
 * as in pack headers): the same bytes as {@link encodeIndexSegment} of the same packs, without an
 * object per entry. Sizes are given up front; {@link finish} checks they were met.
 */
export class IndexSegmentBuilder {
  private readonly w: ByteWriter;
  private packsLeft: number;

  constructor(supersedes: readonly Uint8Array[], packCount: number, entryCount: number) {
    this.w = new ByteWriter(indexSegmentLength(supersedes.length, packCount, entryCount));
    this.w.raw(MAGIC).u8(VERSION).u8(0).u8(0).u8(0).u32(supersedes.length);
    for (const id of supersedes) {
      if (id.length !== BLOB_ID_LENGTH) throw new CairnError('INVALID_ARGUMENT', 'superseded id: not 32 bytes');
      this.w.raw(id);
    }
    this.w.u32(packCount);
    this.packsLeft = packCount;
  }

  /** Adds a pack: its id and its entries, `count` × 50 encoded bytes. */
  addPack(packId: Uint8Array, entryBytes: Uint8Array): this {
    if (packId.length !== BLOB_ID_LENGTH || entryBytes.length % PACK_ENTRY_LENGTH !== 0 || this.packsLeft <= 0) {
      throw new CairnError('INVALID_ARGUMENT', 'index segment builder: bad pack');
    }
    this.packsLeft--;
    this.w
      .raw(packId)
      .u32(entryBytes.length / PACK_ENTRY_LENGTH)
      .raw(entryBytes);
    return this;
  }

  /** Adds a whole pack section as {@link IndexSegmentView.section} returns it. */
  addSection(section: Uint8Array): this {
    return this.addPack(section.subarray(0, BLOB_ID_LENGTH), section.subarray(PACK_SECTION_HEADER_LENGTH));
  }

  finish(): Uint8Array {
    if (this.packsLeft !== 0) throw new CairnError('INVALID_ARGUMENT', 'index segment builder: packs missing');
    return this.w.finish();
  }
}
