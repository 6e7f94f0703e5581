/**
 * The local dedup index cache: a LevelDB database (through `level`) mapping blob id → location,
 * filled from the repository's index segments. It is only a cache: deleting it costs a rebuild,
 * never data. Memory stays bounded by LevelDB's own caches whatever the repository's size, and a
 * segment is loaded in sub-batches of bounded size, straight from its bytes.
 *
 * Keys (first byte = kind):
 *
 *   'b' blob id[32]                     → location (50 bytes, see blob-location.ts)
 *   'p' pack id[32] ‖ blob id[32]       → location, only for segments added with `byPack`
 *   's' segment id (64 hex ASCII)       → empty: the segment is loaded
 *   'd' segment id[32]                  → info of a loaded segment: superseded count u32 ‖ ids[32]*
 *                                         ‖ pack count u32 ‖ section digest[16] per pack
 *   'k' section digest[16]              → id[32] of the last loaded segment holding that pack section
 *   'u' superseded segment id[32]       → id[32] of the last loaded segment that supersedes it
 *   'l' segment id[32]                  → empty: a segment being loaded in several sub-batches
 *   'n' key                             → a note of another module (see {@link IndexCache.getNotes}):
 *                                         the backup's directory records (backup/dir-records.ts)
 *
 * A section digest is BLAKE3(pack id ‖ entry count ‖ entries)[0..16] of one pack as a segment lists
 * it: two segments with the same digest for a pack list exactly the same blobs at the same places.
 * That is what lets a vanished segment be forgotten without a rebuild (see {@link coveredBy}).
 *
 * Consistency: a segment's "loaded" marker, info and digests are written in the last sub-batch of
 * its entries, so the marker is never there without every entry. A crash mid-way leaves entries of
 * a segment that is not marked loaded (it is loaded again) plus its 'l' key, which makes a later
 * sync rebuild the cache if that segment vanished before being loaded again. Caches written before
 * 'd'/'k'/'u'/'l' existed have markers without info: such segments can only vanish by a rebuild.
 */
import { mkdir, rm } from 'node:fs/promises';
import { Level } from 'level';
import { CairnError } from '../errors.js';
import { BLOB_ID_LENGTH } from '../format/blob.js';
import { toHex } from '../format/bytes.js';
import {
  encodeIndexSegment,
  type IndexSegment,
  IndexSegmentView,
  PACK_SECTION_HEADER_LENGTH,
} from '../format/index-segment.js';
import { PACK_ENTRY_LENGTH } from '../format/pack-header.js';
import { blake3 } from '../hashing/index.js';
import { BlobFilter } from './blob-filter.js';
import { BLOB_LOCATION_LENGTH, type BlobLocation, decodeBlobLocation } from './blob-location.js';

const BLOB_PREFIX = 0x62; // 'b' + blob id (32 bytes)
const SEGMENT_PREFIX = 0x73; // 's' + segment id (hex ASCII)
const PACK_PREFIX = 0x70; // 'p' + pack id (32 bytes) + blob id (32 bytes), only with `byPack`
const INFO_PREFIX = 0x64; // 'd' + segment id (32 bytes)
const SECTION_PREFIX = 0x6b; // 'k' + section digest (16 bytes)
const SUPERSEDED_PREFIX = 0x75; // 'u' + superseded segment id (32 bytes)
const LOADING_PREFIX = 0x6c; // 'l' + segment id (32 bytes)
const NOTE_PREFIX = 0x6e; // 'n' + a key of another module
const META_VERSION_KEY = new TextEncoder().encode('m:version');
const CACHE_VERSION = '1';
const EMPTY = new Uint8Array(0);
const EMPTY_BUFFER = Buffer.alloc(0);
const BLOB_KEY_LENGTH = 1 + BLOB_ID_LENGTH;
const PACK_KEY_LENGTH = 1 + 2 * BLOB_ID_LENGTH;

/** Bytes of a section digest. */
export const SECTION_DIGEST_LENGTH = 16;
/** Default number of puts per LevelDB batch when a segment is loaded. */
export const DEFAULT_SUB_BATCH_ENTRIES = 8192;
/** Operations from which a batch is written as a chained batch (see {@link Batch}). */
const CHAINED_BATCH_MIN = 1024;
/** Keys per `getMany` while checking digests. */
const CHECK_CHUNK = 4096;
/** Segments checked or forgotten per round (their records and section keys are in memory). */
const SEGMENT_CHUNK = 256;

/** LevelDB tuning; unset fields keep LevelDB's defaults (see docs/benchmarks.md for measurements). */
export interface IndexCacheOptions {
  /**
   * Table files LevelDB keeps open (default 1000, or the environment variable
   * `CAIRN_INDEX_MAX_OPEN_FILES`). LevelDB memory-maps every table it keeps open, so this bounds the
   * file-backed (clean, reclaimable) part of the RSS to ≈ (maxOpenFiles − 10) × 2 MiB, at a large
   * cost in lookup speed once the cache has more tables than that (each miss reopens a table):
   * measured at 5 M entries (214 tables), 50 % hits: default 470–510 k lookups/s and ~500 MiB of
   * mapped pages; 230 → 280 k/s, 340 MiB; 170 → 124 k/s, 108 MiB; 110 → 86 k/s, 54 MiB.
   */
  maxOpenFiles?: number;
  /** LRU block cache in bytes (default 8 MiB). */
  cacheSize?: number;
  /** Memtable size in bytes (default 4 MiB). */
  writeBufferSize?: number;
  /** Table block size in bytes (default 4096). */
  blockSize?: number;
  /** Puts per batch when loading a segment (default {@link DEFAULT_SUB_BATCH_ENTRIES}). */
  subBatchEntries?: number;
}

/** What the cache records about a loaded segment. */
export interface SegmentInfo {
  supersedes: Uint8Array[];
  /** One {@link SECTION_DIGEST_LENGTH}-byte digest per pack, concatenated. */
  digests: Uint8Array;
}

/** Counters for diagnostics and tests. */
export interface IndexCacheStats {
  /** Calls of {@link IndexCache.clear}. */
  clears: number;
  /** Segments whose entries were written. */
  segmentsLoaded: number;
  /** Entries written (entries of sections the cache already held are skipped). */
  entriesWritten: number;
  /** Segments marked loaded without writing entries (their entries were already there). */
  segmentsMarked: number;
  /** Segments forgotten (markers dropped, entries kept). */
  segmentsForgotten: number;
  /** Ids {@link IndexCache.certainlyAbsent} ruled out (lookups that did not reach LevelDB). */
  filterRuledOut: number;
}

function prefixed(prefix: number, id: Uint8Array): Uint8Array {
  const k = new Uint8Array(1 + id.length);
  k[0] = prefix;
  k.set(id, 1);
  return k;
}

function segmentKey(idHex: string): Uint8Array {
  const k = new Uint8Array(1 + idHex.length);
  k[0] = SEGMENT_PREFIX;
  k.set(new TextEncoder().encode(idHex), 1);
  return k;
}

function prefixRange(prefix: number): { gte: Uint8Array; lt: Uint8Array } {
  return { gte: new Uint8Array([prefix]), lt: new Uint8Array([prefix + 1]) };
}

/** 32 bytes of a 64-hex-digit segment id; throws INVALID_ARGUMENT otherwise. */
function segmentIdBytes(idHex: string): Uint8Array {
  const b = Buffer.from(idHex, 'hex');
  if (b.length !== BLOB_ID_LENGTH || b.toString('hex') !== idHex) {
    throw new CairnError('INVALID_ARGUMENT', `segment id ${JSON.stringify(idHex)} is not 64 lower-case hex digits`);
  }
  return new Uint8Array(b);
}

/** The digest of every pack section of a segment, concatenated. */
export function sectionDigests(view: IndexSegmentView): Uint8Array {
  const out = new Uint8Array(view.packCount * SECTION_DIGEST_LENGTH);
  for (let i = 0; i < view.packCount; i++) {
    out.set(blake3(view.section(i)).subarray(0, SECTION_DIGEST_LENGTH), i * SECTION_DIGEST_LENGTH);
  }
  return out;
}

/** The 'k' keys of concatenated section digests. */
function sectionKeys(digests: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < digests.length; i += SECTION_DIGEST_LENGTH) {
    out.push(prefixed(SECTION_PREFIX, digests.subarray(i, i + SECTION_DIGEST_LENGTH)));
  }
  return out;
}

/** True when a section key's owner is a present segment other than `idHex`. */
function ownerCovers(owner: Uint8Array | undefined, idHex: string, present: (idHex: string) => boolean): boolean {
  if (!owner) return false;
  const ownerHex = toHex(owner);
  return ownerHex !== idHex && present(ownerHex);
}

function encodeInfo(supersedes: readonly Uint8Array[], digests: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + supersedes.length * BLOB_ID_LENGTH + 4 + digests.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, supersedes.length, true);
  supersedes.forEach((id, i) => {
    out.set(id, 4 + i * BLOB_ID_LENGTH);
  });
  const at = 4 + supersedes.length * BLOB_ID_LENGTH;
  v.setUint32(at, digests.length / SECTION_DIGEST_LENGTH, true);
  out.set(digests, at + 4);
  return out;
}

function decodeInfo(b: Uint8Array): SegmentInfo | undefined {
  if (b.length < 8) return undefined;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const nSup = v.getUint32(0, true);
  const at = 4 + nSup * BLOB_ID_LENGTH;
  if (at + 4 > b.length) return undefined;
  const nPacks = v.getUint32(at, true);
  if (at + 4 + nPacks * SECTION_DIGEST_LENGTH !== b.length) return undefined;
  const supersedes: Uint8Array[] = [];
  for (let i = 0; i < nSup; i++) supersedes.push(b.slice(4 + i * BLOB_ID_LENGTH, 4 + (i + 1) * BLOB_ID_LENGTH));
  return { supersedes, digests: b.slice(at + 4) };
}

type Db = Level<Uint8Array, Uint8Array>;

/**
 * True when `err` (or an error it wraps) is LevelDB reporting a damaged file of the cache
 * (a bad block checksum, an undecodable table): the cache must be thrown away and rebuilt.
 */
export function isCacheDamage(err: unknown): boolean {
  let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; e && depth < 5; depth++, e = e.cause as typeof e) {
    if (e.code === 'LEVEL_CORRUPTION') return true;
    if (typeof e.message === 'string' && e.message.startsWith('Corruption:')) return true;
  }
  return false;
}

/** True when a cache folder cannot be created or written by this process (access, not damage). */
export function isUnusableCacheDir(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code === 'ENOTDIR' || code === 'EEXIST') return true;
  // LevelDB's own failure to create or lock its files there (IndexCache.open names the reason).
  return (
    err instanceof CairnError &&
    err.code === 'IO_ERROR' &&
    /Permission denied|Read-only file system|Not a directory/.test(err.message)
  );
}

/** Methods of {@link IndexCache} that read or write LevelDB, guarded against a damaged cache. */
const GUARDED_CALLS = [
  'getMany',
  'estimateBlobs',
  'loadedSegments',
  'partialSegments',
  'addSegment',
  'segmentInfo',
  'coveredBy',
  'forgetCovered',
  'forgetSegments',
  'countBlobs',
  'getNotes',
  'writeNotes',
  'clear',
] as const;
const GUARDED_WALKS = ['packEntries', 'locations', 'notesWithPrefix'] as const;
type Op = { type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array };

/**
 * Operations written as one atomic LevelDB batch. Small batches go through `db.batch(array)`,
 * whose native batch is freed as soon as the write completes; large ones through a chained batch,
 * which costs ~15 % less CPU per operation but whose native batch is freed only when V8 collects
 * the JS handle — late, since V8 does not see the native bytes: with one chained batch per
 * 128-entry segment, a 39 000-segment rebuild kept ~240 MiB more RSS. Few large batches are fine.
 */
class Batch {
  private ops: Op[] = [];
  constructor(private readonly db: Db) {}
  put(key: Uint8Array, value: Uint8Array): void {
    this.ops.push({ type: 'put', key, value });
  }
  del(key: Uint8Array): void {
    this.ops.push({ type: 'del', key });
  }
  async write(): Promise<void> {
    const ops = this.ops;
    this.ops = [];
    if (ops.length === 0) return;
    if (ops.length < CHAINED_BATCH_MIN) return this.db.batch(ops);
    const chained = this.db.batch();
    for (const op of ops) {
      if (op.type === 'put') chained.put(op.key, op.value);
      else chained.del(op.key);
    }
    await chained.write();
  }
}

/** A LevelDB-backed blob index cache in one directory. */
export class IndexCache {
  /** Counters since open. */
  readonly stats: IndexCacheStats = {
    clears: 0,
    segmentsLoaded: 0,
    entriesWritten: 0,
    segmentsMarked: 0,
    segmentsForgotten: 0,
    filterRuledOut: 0,
  };
  private readonly subBatchEntries: number;
  /** Blob ids the cache holds (plus a few it no longer does), once {@link startFilter} was called. */
  private filter: BlobFilter | undefined;
  /** The filter holds every id in the cache (the scan of the ids already there has finished). */
  private filterComplete = false;
  private filterScan: Promise<void> | undefined;
  /** Segment loads under way that began before the filter existed, and who waits for them. */
  private unfilteredLoads = 0;
  private readonly loadsSettled: (() => void)[] = [];
  /** Set once LevelDB reported a damaged file: the cache is deleted on close. */
  private damage: CairnError | undefined;

  private constructor(
    private readonly db: Db,
    /** Directory of the database. */
    readonly dir: string,
    options: IndexCacheOptions,
  ) {
    this.subBatchEntries = Math.max(2, Math.floor(options.subBatchEntries ?? DEFAULT_SUB_BATCH_ENTRIES));
    // Every call that touches LevelDB turns its "damaged file" errors into one typed error and
    // marks the cache for deletion, wherever the call comes from (index, directory records, stats).
    // The cache is derived data: the next run rebuilds it from the repository's segments.
    const self = this as unknown as Record<string, (...args: unknown[]) => unknown>;
    for (const name of GUARDED_CALLS) {
      const call = self[name]!.bind(this);
      self[name] = (...args) => (call(...args) as Promise<unknown>).catch((err: unknown) => this.fail(err));
    }
    for (const name of GUARDED_WALKS) {
      const walk = self[name]!.bind(this) as (...args: unknown[]) => AsyncIterable<unknown>;
      const fail = (err: unknown) => this.fail(err);
      self[name] = async function* (...args: unknown[]) {
        try {
          yield* walk(...args);
        } catch (err) {
          fail(err);
        }
      };
    }
  }

  /** The error that marked this cache damaged, if any (it is then deleted on close). */
  get damaged(): CairnError | undefined {
    return this.damage;
  }

  private fail(err: unknown): never {
    if (err instanceof CairnError || !isCacheDamage(err)) throw err;
    this.damage ??= new CairnError(
      'CORRUPT_DATA',
      `the local index cache ${this.dir} is damaged (${(err as Error).message}); it is deleted when this ` +
        'run ends and rebuilt from the repository by the next one: run the command again',
      { cause: err, details: { cache: this.dir } },
    );
    throw this.damage;
  }

  /**
   * Opens (creating if needed) the cache at `dir`. Throws LOCKED when another process has it open;
   * the caller may then use a private cache elsewhere.
   */
  static async open(dir: string, options: IndexCacheOptions = {}): Promise<IndexCache> {
    await mkdir(dir, { recursive: true });
    const tuning: Record<string, number> = {};
    for (const k of ['maxOpenFiles', 'cacheSize', 'writeBufferSize', 'blockSize'] as const) {
      const v = options[k];
      if (v !== undefined) tuning[k] = v;
    }
    const envMaxOpen = Number(process.env.CAIRN_INDEX_MAX_OPEN_FILES);
    if (tuning.maxOpenFiles === undefined && Number.isSafeInteger(envMaxOpen) && envMaxOpen > 0) {
      tuning.maxOpenFiles = envMaxOpen;
    }
    const db: Db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view', ...tuning });
    try {
      await db.open();
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause;
      if (cause?.code === 'LEVEL_LOCKED') {
        throw new CairnError('LOCKED', `index cache ${dir} is in use by another process`, { cause: err });
      }
      throw new CairnError('IO_ERROR', `cannot open index cache ${dir}: ${describeOpenError(err)}`, {
        cause: err,
        details: { cache: dir },
      });
    }
    const cache = new IndexCache(db, dir, options);
    try {
      const version = await db.get(META_VERSION_KEY);
      if (version === undefined) await db.put(META_VERSION_KEY, new TextEncoder().encode(CACHE_VERSION));
      else if (new TextDecoder().decode(version) !== CACHE_VERSION) await cache.clear();
    } catch (err) {
      let failure = err;
      try {
        cache.fail(err); // marks a damaged cache for deletion by close
      } catch (typed) {
        failure = typed;
      }
      await cache.close().catch(() => {});
      throw failure;
    }
    return cache;
  }

  /** Looks up many blob ids in one call; entries are undefined for unknown ids. */
  async getMany(ids: readonly Uint8Array[]): Promise<(BlobLocation | undefined)[]> {
    if (ids.length === 0) return [];
    const buf = Buffer.allocUnsafe(ids.length * BLOB_KEY_LENGTH);
    const keys = new Array<Uint8Array>(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const at = i * BLOB_KEY_LENGTH;
      buf[at] = BLOB_PREFIX;
      buf.set(ids[i]!, at + 1);
      keys[i] = buf.subarray(at, at + 1 + ids[i]!.length);
    }
    const values = await this.db.getMany(keys);
    return values.map((v, i) => (v === undefined ? undefined : decodeBlobLocation(ids[i]!, v)));
  }

  /**
   * Starts keeping an in-memory filter of the cache's blob ids (blob-filter.ts): ids added from
   * now on go into it at once, the ids already there are scanned in the background. Once the scan
   * has finished, {@link certainlyAbsent} rules ids out without a LevelDB call.
   */
  startFilter(): void {
    if (this.filter) return;
    this.filter = new BlobFilter();
    this.filterScan = this.scanIntoFilter().catch(() => {
      // The scan failed (the cache closed meanwhile): lookups keep going to LevelDB.
    });
  }

  /**
   * Roughly how many blob entries the cache holds, from LevelDB's estimate of their size on disk
   * (~85 bytes each; entries still in the write buffer are not counted). Cheap: no scan.
   */
  async estimateBlobs(): Promise<number> {
    const range = prefixRange(BLOB_PREFIX);
    // classic-level (Node) has it; the `level` typings cover browsers too, which do not.
    const db = this.db as unknown as { approximateSize?: (gte: Uint8Array, lt: Uint8Array) => Promise<number> };
    if (typeof db.approximateSize !== 'function') return Number.POSITIVE_INFINITY;
    return Math.round((await db.approximateSize(range.gte, range.lt)) / 85);
  }

  /** Resolves once the filter holds every id (at once when no filter was started). */
  async filterScanned(): Promise<void> {
    await this.filterScan;
  }

  private async scanIntoFilter(): Promise<void> {
    // Loads begun before the filter existed must be in the snapshot: wait for them. Later ones add
    // their ids to the filter themselves.
    while (this.unfilteredLoads > 0) await new Promise<void>((resolve) => this.loadsSettled.push(resolve));
    // An iterator reads a snapshot of the database as it is now.
    const it = this.db.keys({ ...prefixRange(BLOB_PREFIX) });
    try {
      for (;;) {
        const keys = await it.nextv(4096);
        if (keys.length === 0) break;
        for (const key of keys) if (key.length === BLOB_KEY_LENGTH) this.filter?.add(key, 1);
      }
    } finally {
      await it.close();
    }
    this.filterComplete = true;
  }

  /**
   * True when the cache certainly does not hold `id`: the filter is complete and rules it out.
   * False means "ask LevelDB" (it may hold it, or no filter is kept).
   */
  certainlyAbsent(id: Uint8Array): boolean {
    if (!this.filterComplete || this.filter === undefined || !this.filter.usable || this.filter.has(id)) return false;
    this.stats.filterRuledOut++;
    return true;
  }

  /** Ids (hex) of the index segments already loaded. */
  async loadedSegments(): Promise<Set<string>> {
    const out = new Set<string>();
    for await (const key of this.db.keys(prefixRange(SEGMENT_PREFIX)))
      out.add(new TextDecoder().decode(key.subarray(1)));
    return out;
  }

  /** Ids (hex) of segments whose loading started in sub-batches and did not finish. */
  async partialSegments(): Promise<Set<string>> {
    const out = new Set<string>();
    for await (const key of this.db.keys(prefixRange(LOADING_PREFIX))) out.add(toHex(key.subarray(1)));
    return out;
  }

  /**
   * Adds every entry of a segment and marks it loaded. With `byPack`, entries are also kept by pack,
   * for {@link packEntries} (verification needs them; the backup path does not). Entries are written
   * in batches of at most `subBatchEntries` puts; the marker comes with the last one (see the module
   * comment). `entries: false` only records the segment (marker, info, digests): for a segment whose
   * entries are known to be in the cache already, such as a merge of loaded segments.
   *
   * Without `byPack`, the entries of a pack section the cache already holds (same digest: loaded
   * from another segment, e.g. the parts of a merged segment) are not written again, so loading a
   * segment that merges loaded ones costs little more than recording it.
   *
   * Pass an {@link IndexSegmentView} (as `RepoIndex.readSegment` returns) to avoid any per-entry
   * object; a plain {@link IndexSegment} is encoded first.
   */
  async addSegment(
    segmentIdHex: string,
    segment: IndexSegment,
    options: { byPack?: boolean; entries?: boolean } = {},
  ): Promise<void> {
    // A load begun before the filter existed adds nothing to it: the filter's scan waits for it.
    if (this.filter) return this.loadSegment(segmentIdHex, segment, options);
    this.unfilteredLoads++;
    try {
      await this.loadSegment(segmentIdHex, segment, options);
    } finally {
      this.unfilteredLoads--;
      if (this.unfilteredLoads === 0) for (const w of this.loadsSettled.splice(0)) w();
    }
  }

  private async loadSegment(
    segmentIdHex: string,
    segment: IndexSegment,
    options: { byPack?: boolean; entries?: boolean },
  ): Promise<void> {
    const view = segment instanceof IndexSegmentView ? segment : IndexSegmentView.parse(encodeIndexSegment(segment));
    const segId = segmentIdBytes(segmentIdHex);
    const digests = sectionDigests(view);
    const finish = (batch: Batch) => {
      batch.put(prefixed(INFO_PREFIX, segId), encodeInfo(view.supersedes, digests));
      for (const key of sectionKeys(digests)) batch.put(key, segId);
      for (const sup of view.supersedes) batch.put(prefixed(SUPERSEDED_PREFIX, sup), segId);
      batch.del(prefixed(LOADING_PREFIX, segId));
      batch.put(segmentKey(segmentIdHex), EMPTY);
    };
    if (options.entries === false) {
      const batch = new Batch(this.db);
      finish(batch);
      await batch.write();
      this.stats.segmentsMarked++;
      return;
    }

    const byPack = !!options.byPack;
    const perEntry = byPack ? 2 : 1;
    const maxEntries = Math.max(1, Math.floor(this.subBatchEntries / perEntry));
    const known = byPack ? new Uint8Array(view.packCount) : await this.knownSections(digests);
    let total = 0;
    for (let i = 0; i < view.packCount; i++) if (!known[i]) total += view.packEntryCount(i);
    const p = view.payload;
    const src = Buffer.isBuffer(p) ? p : Buffer.from(p.buffer, p.byteOffset, p.byteLength);
    let batch = new Batch(this.db);
    if (total > maxEntries) batch.put(prefixed(LOADING_PREFIX, segId), EMPTY);
    let left = total;
    let keys = EMPTY_BUFFER;
    let values = EMPTY_BUFFER;
    let packKeys = EMPTY_BUFFER;
    let n = 0; // entries in the current sub-batch
    let inFlight: Promise<void> | undefined;
    for (let i = 0; i < view.packCount; i++) {
      if (known[i]) continue;
      const sectionAt = view.sectionOffset(i);
      const count = view.packEntryCount(i);
      for (let j = 0; j < count; j++) {
        if (n === maxEntries) {
          // One sub-batch is written while the next is built (never more: memory stays bounded).
          const written = batch.write();
          written.catch(() => {});
          await inFlight;
          inFlight = written;
          batch = new Batch(this.db);
          n = 0;
        }
        if (n === 0) {
          // Fresh buffers per sub-batch: the batch holds on to the subarrays until written.
          const size = Math.min(maxEntries, left);
          keys = Buffer.allocUnsafe(size * BLOB_KEY_LENGTH);
          values = Buffer.allocUnsafe(size * BLOB_LOCATION_LENGTH);
          if (byPack) packKeys = Buffer.allocUnsafe(size * PACK_KEY_LENGTH);
        }
        // Entry: type u8 ‖ compression u8 ‖ offset u64 ‖ length u32 ‖ raw length u32 ‖ id[32].
        // Value: pack id[32] ‖ offset ‖ length ‖ raw length ‖ type ‖ compression.
        const e = sectionAt + PACK_SECTION_HEADER_LENGTH + j * PACK_ENTRY_LENGTH;
        const k = n * BLOB_KEY_LENGTH;
        const v = n * BLOB_LOCATION_LENGTH;
        keys[k] = BLOB_PREFIX;
        src.copy(keys, k + 1, e + 18, e + PACK_ENTRY_LENGTH);
        src.copy(values, v, sectionAt, sectionAt + BLOB_ID_LENGTH);
        src.copy(values, v + BLOB_ID_LENGTH, e + 2, e + 18);
        values[v + 48] = src[e]!;
        values[v + 49] = src[e + 1]!;
        const value = values.subarray(v, v + BLOB_LOCATION_LENGTH);
        this.filter?.add(keys, k + 1); // before the entry can be read: the filter never misses it
        batch.put(keys.subarray(k, k + BLOB_KEY_LENGTH), value);
        if (byPack) {
          const pk = n * PACK_KEY_LENGTH;
          packKeys[pk] = PACK_PREFIX;
          src.copy(packKeys, pk + 1, sectionAt, sectionAt + BLOB_ID_LENGTH);
          src.copy(packKeys, pk + 1 + BLOB_ID_LENGTH, e + 18, e + PACK_ENTRY_LENGTH);
          batch.put(packKeys.subarray(pk, pk + PACK_KEY_LENGTH), value);
        }
        n++;
        left--;
      }
    }
    // The marker goes last, once every entry is written.
    await inFlight;
    finish(batch);
    await batch.write();
    this.stats.segmentsLoaded++;
    this.stats.entriesWritten += total;
  }

  /** 1 for each digest (of `digests`) whose section the cache holds, else 0. */
  private async knownSections(digests: Uint8Array): Promise<Uint8Array> {
    const owners = await this.getManyChunked(sectionKeys(digests));
    return Uint8Array.from(owners, (owner) => (owner ? 1 : 0));
  }

  /** What the cache recorded about loaded segments (undefined: not loaded, or loaded by an older build). */
  async segmentInfo(idsHex: readonly string[]): Promise<(SegmentInfo | undefined)[]> {
    if (idsHex.length === 0) return [];
    const values = await this.db.getMany(idsHex.map((id) => prefixed(INFO_PREFIX, segmentIdBytes(id))));
    return values.map((v) => (v === undefined ? undefined : decodeInfo(v)));
  }

  /**
   * True when every pack section of each segment in `vanished` is also listed, identically, by a
   * loaded segment for which `present(id)` holds: then the vanished segments' entries are all still
   * listed in the repository, and they can be forgotten without touching the entries. False when
   * that cannot be shown (a segment without recorded info, a section only the vanished segments
   * list): the caller must rebuild.
   *
   * Memory and LevelDB round trips: one chunk of segments at a time.
   */
  async coveredBy(vanished: readonly string[], present: (idHex: string) => boolean): Promise<boolean> {
    for (let c = 0; c < vanished.length; c += SEGMENT_CHUNK) {
      const ids = vanished.slice(c, c + SEGMENT_CHUNK);
      if (!(await this.chunkCovered(ids, await this.segmentInfo(ids), present))) return false;
    }
    return true;
  }

  /**
   * {@link coveredBy} and {@link forgetSegments} in one pass, chunk by chunk: true when every
   * segment was covered and is forgotten. False as soon as one is not covered (those checked before
   * may be forgotten already): the caller must then rebuild the cache.
   */
  async forgetCovered(vanished: readonly string[], present: (idHex: string) => boolean): Promise<boolean> {
    for (let c = 0; c < vanished.length; c += SEGMENT_CHUNK) {
      const ids = vanished.slice(c, c + SEGMENT_CHUNK);
      const infos = await this.segmentInfo(ids);
      if (!(await this.chunkCovered(ids, infos, present))) return false;
      // Covered: no section key names these segments any more (checked just above).
      await this.forget(ids, infos, false);
    }
    return true;
  }

  private async chunkCovered(
    ids: readonly string[],
    infos: readonly (SegmentInfo | undefined)[],
    present: (idHex: string) => boolean,
  ): Promise<boolean> {
    if (infos.some((info) => !info)) return false;
    const keys: Uint8Array[] = [];
    for (const info of infos) keys.push(...sectionKeys(info!.digests));
    const owners = await this.getManyChunked(keys);
    let k = 0;
    for (let s = 0; s < ids.length; s++) {
      const info = infos[s]!;
      const n = info.digests.length / SECTION_DIGEST_LENGTH;
      const covered = owners.slice(k, k + n).every((owner) => ownerCovers(owner, ids[s]!, present));
      k += n;
      if (covered) continue;
      // The section keys may name the vanished segment itself, when it was loaded after the
      // segment that replaces it (both were new to one sync). Re-point them at its present
      // superseder, then check again.
      const [sup] = await this.db.getMany([prefixed(SUPERSEDED_PREFIX, segmentIdBytes(ids[s]!))]);
      if (!sup || !present(toHex(sup))) return false;
      const [supInfo] = await this.segmentInfo([toHex(sup)]);
      if (!supInfo) return false;
      await this.pointSectionsAt(sup, supInfo);
      const again = await this.getManyChunked(sectionKeys(info.digests));
      if (!again.every((owner) => ownerCovers(owner, ids[s]!, present))) return false;
    }
    return true;
  }

  private async getManyChunked(keys: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    const out: (Uint8Array | undefined)[] = [];
    for (let c = 0; c < keys.length; c += CHECK_CHUNK)
      out.push(...(await this.db.getMany(keys.slice(c, c + CHECK_CHUNK))));
    return out;
  }

  private async pointSectionsAt(segId: Uint8Array, info: SegmentInfo): Promise<void> {
    const keys = sectionKeys(info.digests);
    for (let c = 0; c < keys.length; c += this.subBatchEntries) {
      const batch = new Batch(this.db);
      for (const key of keys.slice(c, c + this.subBatchEntries)) batch.put(key, segId);
      await batch.write();
    }
  }

  /**
   * Drops what the cache records about segments (loaded marker, info, its section and superseded
   * keys) but keeps their entries: for segments that vanished from the repository while their
   * entries stay listed by others ({@link coveredBy}), or that this process merged into one it
   * recorded with `entries: false`.
   */
  async forgetSegments(idsHex: readonly string[]): Promise<void> {
    for (let c = 0; c < idsHex.length; c += SEGMENT_CHUNK) {
      const ids = idsHex.slice(c, c + SEGMENT_CHUNK);
      await this.forget(ids, await this.segmentInfo(ids));
    }
  }

  private async forget(
    ids: readonly string[],
    infos: readonly (SegmentInfo | undefined)[],
    sections = true,
  ): Promise<void> {
    // Section and superseded keys naming these segments (others may have taken them over since).
    const owned: Uint8Array[] = [];
    const ownedBy: string[] = [];
    ids.forEach((idHex, s) => {
      const info = infos[s];
      if (!info) return;
      if (sections) {
        for (const key of sectionKeys(info.digests)) {
          owned.push(key);
          ownedBy.push(idHex);
        }
      }
      for (const sup of info.supersedes) {
        owned.push(prefixed(SUPERSEDED_PREFIX, sup));
        ownedBy.push(idHex);
      }
    });
    const owners = await this.getManyChunked(owned);
    const batch = new Batch(this.db);
    owners.forEach((owner, i) => {
      if (owner && toHex(owner) === ownedBy[i]) batch.del(owned[i]!);
    });
    for (const idHex of ids) {
      const segId = segmentIdBytes(idHex);
      batch.del(prefixed(SUPERSEDED_PREFIX, segId));
      batch.del(prefixed(INFO_PREFIX, segId));
      batch.del(prefixed(LOADING_PREFIX, segId));
      batch.del(segmentKey(idHex));
    }
    await batch.write();
    this.stats.segmentsForgotten += ids.length;
  }

  /** Entries recorded for one pack (only those added with `byPack`). */
  async *packEntries(packIdHex: string): AsyncIterable<BlobLocation> {
    const gte = new Uint8Array(33);
    gte[0] = PACK_PREFIX;
    gte.set(Buffer.from(packIdHex, 'hex'), 1);
    const upper = new Uint8Array(65).fill(0xff);
    upper.set(gte);
    for await (const [key, value] of this.db.iterator({ gte, lte: upper }))
      yield decodeBlobLocation(key.slice(33), value);
  }

  /** Every cached blob location (walks the database: for statistics and checks). */
  async *locations(): AsyncIterable<BlobLocation> {
    for await (const [key, value] of this.db.iterator(prefixRange(BLOB_PREFIX)))
      yield decodeBlobLocation(key.slice(1), value);
  }

  /** Number of blob entries (walks the keys: for diagnostics and benchmarks). */
  async countBlobs(): Promise<number> {
    let n = 0;
    for await (const _ of this.db.keys(prefixRange(BLOB_PREFIX))) n++;
    return n;
  }

  /**
   * Notes: small values other modules keep beside the index because they are only valid while the
   * index is (a {@link clear} removes them with everything else). Undefined for missing keys.
   */
  async getNotes(keys: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    if (keys.length === 0) return [];
    return this.db.getMany(keys.map((k) => prefixed(NOTE_PREFIX, k)));
  }

  /**
   * Notes whose key starts with `prefix`, in key order and in batches of up to `batch`, read from a
   * snapshot of the database as it is now. Keys are as {@link writeNotes} took them.
   */
  async *notesWithPrefix(prefix: Uint8Array, batch = 1024): AsyncIterable<[Uint8Array, Uint8Array][]> {
    const gte = prefixed(NOTE_PREFIX, prefix);
    const lt = new Uint8Array(gte);
    // The first key after every key with this prefix (the prefix is never all 0xff bytes here).
    let i = lt.length - 1;
    while (lt[i] === 0xff) lt[i--] = 0;
    lt[i]!++;
    const it = this.db.iterator({ gte, lt });
    try {
      for (;;) {
        const entries = await it.nextv(batch);
        if (entries.length === 0) return;
        yield entries.map(([k, v]) => [k.subarray(1), v] as [Uint8Array, Uint8Array]);
      }
    } finally {
      await it.close();
    }
  }

  /** Writes and deletes notes (`value` undefined: delete) in one atomic batch. */
  async writeNotes(ops: readonly { key: Uint8Array; value: Uint8Array | undefined }[]): Promise<void> {
    const batch = new Batch(this.db);
    for (const op of ops) {
      if (op.value) batch.put(prefixed(NOTE_PREFIX, op.key), op.value);
      else batch.del(prefixed(NOTE_PREFIX, op.key));
    }
    await batch.write();
  }

  /** Removes everything (before a full rebuild). */
  async clear(): Promise<void> {
    this.stats.clears++;
    await this.db.clear();
    // Only false positives are left in a filter after entries go; an emptied cache starts afresh.
    if (this.filter) this.filter = new BlobFilter();
    await this.db.put(META_VERSION_KEY, new TextEncoder().encode(CACHE_VERSION));
  }

  /** Closes the cache; one found damaged is deleted (the next open starts an empty one). */
  async close(): Promise<void> {
    if (this.db.status === 'open' || this.db.status === 'opening') await this.db.close();
    if (this.damage) await rm(this.dir, { recursive: true, force: true });
  }

  /** Closes and deletes the cache directory. */
  async destroy(): Promise<void> {
    await this.close();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** The reason LevelDB gives for a failed open (abstract-level wraps it as the cause). */
function describeOpenError(err: unknown): string {
  const cause = (err as { cause?: { message?: string } }).cause;
  return cause?.message ? `${(err as Error).message}: ${cause.message}` : (err as Error).message;
}
