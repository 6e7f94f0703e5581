/**
 * Entries of packs a process has stored but not yet listed in a saved index segment, kept compactly:
 * each entry is its 50-byte encoding (pack-header layout, exactly the bytes the segment will hold)
 * in one growing buffer, found through an open-addressing hash table of entry numbers. About
 * 60-70 bytes per entry, against ~1.1 KiB for a Map of hex strings to location objects.
 *
 * A group is filled by {@link PendingGroup.addPack}, then frozen while its segment is written.
 */
import { compressionId } from '../compress/index.js';
import { CairnError } from '../errors.js';
import { BLOB_ID_LENGTH, BLOB_TYPE_CODES } from '../format/blob.js';
import { readU32LE } from '../format/bytes.js';
import type { IndexSegmentBuilder } from '../format/index-segment.js';
import { PACK_ENTRY_LENGTH, type PackEntry } from '../format/pack-header.js';
import { type BlobLocation, locationFromEntry } from './blob-location.js';

/** Offset of the blob id inside a 50-byte entry. */
const ID_AT = 18;

interface PendingPack {
  idHex: string;
  id: Uint8Array;
  /** Number of its first entry in the group. */
  first: number;
  count: number;
}

/** Hash of a (uniformly random) blob id: two words mixed, so patterned test ids spread too. */
function idHash(id: Uint8Array, at: number): number {
  let h = readU32LE(id, at) ^ Math.imul(readU32LE(id, at + 28), 0x9e3779b1);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

/** The pending entries of some packs. */
export class PendingGroup {
  private entries = new Uint8Array(PACK_ENTRY_LENGTH * 256);
  private view = new DataView(this.entries.buffer);
  private count = 0;
  /** Entry number + 1 per slot; 0 = empty. Load factor at most 1/2. */
  private slots = new Uint32Array(512);
  readonly packs: PendingPack[] = [];

  /** Number of entries. */
  get entryCount(): number {
    return this.count;
  }

  /** Records the entries of pack `packIdHex` (last one wins for an id recorded twice). */
  addPack(packIdHex: string, entries: readonly PackEntry[]): void {
    const id = Buffer.from(packIdHex, 'hex');
    if (id.length !== BLOB_ID_LENGTH || id.toString('hex') !== packIdHex.toLowerCase()) {
      throw new CairnError('INVALID_ARGUMENT', `pack id ${JSON.stringify(packIdHex)} is not 64 hex digits`);
    }
    // Encode first (may throw on a bad entry), then commit.
    const first = this.count;
    this.reserve(first + entries.length);
    let at = first * PACK_ENTRY_LENGTH;
    for (const e of entries) {
      if (e.id.length !== BLOB_ID_LENGTH) throw new CairnError('INVALID_ARGUMENT', 'blob id: not 32 bytes');
      if (!Number.isSafeInteger(e.offset) || e.offset < 0) {
        throw new CairnError('INVALID_ARGUMENT', `blob offset ${e.offset} is not a safe integer`);
      }
      this.entries[at] = BLOB_TYPE_CODES[e.type];
      this.entries[at + 1] = compressionId(e.compression);
      this.view.setUint32(at + 2, e.offset % 0x100000000, true);
      this.view.setUint32(at + 6, Math.floor(e.offset / 0x100000000), true);
      this.view.setUint32(at + 10, e.length, true);
      this.view.setUint32(at + 14, e.rawLength, true);
      this.entries.set(e.id, at + ID_AT);
      at += PACK_ENTRY_LENGTH;
    }
    this.count = first + entries.length;
    this.packs.push({ idHex: packIdHex.toLowerCase(), id: new Uint8Array(id), first, count: entries.length });
    if (this.count * 2 > this.slots.length) {
      // Grow to keep the load factor at most 1/2, however many entries arrived at once (a pack of
      // small tree blobs can hold thousands): a full table would make insert() loop forever.
      let size = this.slots.length * 2;
      while (this.count * 2 > size) size *= 2;
      this.rehash(size);
    } else for (let n = first; n < this.count; n++) this.insert(n);
  }

  /** Entry number of `id`, or -1. */
  private find(id: Uint8Array): number {
    const mask = this.slots.length - 1;
    for (let s = idHash(id, 0) & mask; ; s = (s + 1) & mask) {
      const ref = this.slots[s]!;
      if (ref === 0) return -1;
      if (this.idEquals(ref - 1, id)) return ref - 1;
    }
  }

  private idEquals(n: number, id: Uint8Array): boolean {
    const at = n * PACK_ENTRY_LENGTH + ID_AT;
    const e = this.entries;
    for (let i = 0; i < BLOB_ID_LENGTH; i++) if (e[at + i] !== id[i]) return false;
    return true;
  }

  private insert(n: number): void {
    const mask = this.slots.length - 1;
    const at = n * PACK_ENTRY_LENGTH + ID_AT;
    const id = this.entries.subarray(at, at + BLOB_ID_LENGTH);
    for (let s = idHash(this.entries, at) & mask; ; s = (s + 1) & mask) {
      const ref = this.slots[s]!;
      if (ref === 0 || this.idEquals(ref - 1, id)) {
        this.slots[s] = n + 1;
        return;
      }
    }
  }

  private rehash(size: number): void {
    this.slots = new Uint32Array(size);
    for (let n = 0; n < this.count; n++) this.insert(n);
  }

  private reserve(entries: number): void {
    if (entries * PACK_ENTRY_LENGTH <= this.entries.length) return;
    let size = this.entries.length;
    while (size < entries * PACK_ENTRY_LENGTH) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.entries.subarray(0, this.count * PACK_ENTRY_LENGTH));
    this.entries = grown;
    this.view = new DataView(grown.buffer);
  }

  /** The location of `id` if one of these packs holds it. */
  get(id: Uint8Array): BlobLocation | undefined {
    if (id.length !== BLOB_ID_LENGTH || this.count === 0) return undefined;
    const n = this.find(id);
    if (n < 0) return undefined;
    return locationFromEntry(this.packOf(n).idHex, this.entries, n * PACK_ENTRY_LENGTH);
  }

  private packOf(n: number): PendingPack {
    let lo = 0;
    let hi = this.packs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.packs[mid]!.first <= n) lo = mid;
      else hi = mid - 1;
    }
    return this.packs[lo]!;
  }

  /** Writes every pack of the group to a segment builder. */
  writeTo(builder: IndexSegmentBuilder): void {
    for (const p of this.packs) {
      builder.addPack(
        p.id,
        this.entries.subarray(p.first * PACK_ENTRY_LENGTH, (p.first + p.count) * PACK_ENTRY_LENGTH),
      );
    }
  }

  /** Bytes held (for diagnostics). */
  get byteSize(): number {
    return this.entries.byteLength + this.slots.byteLength + this.packs.length * 200;
  }
}
