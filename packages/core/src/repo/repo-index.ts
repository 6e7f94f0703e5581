/**
 * The repository's blob index as one process sees it: the LevelDB cache of every stored index
 * segment, plus the packs this process stored whose segment is not written yet. Lookups are batched.
 *
 * Ordering rule that keeps repositories consistent: a pack is stored before its index segment, a
 * segment before the cache learns its entries, and a snapshot only after the segments it needs.
 * So the cache never points at a blob no segment lists, and an interrupted backup leaves packs and
 * segments that the next run reuses. Compaction adds one more: a merged segment is stored before
 * the segments it replaces are deleted, so at every moment each entry is listed by some segment.
 *
 * Memory: pending entries take ~70 bytes each (see PendingGroup); a sync holds at most a few
 * segments at once (bounded by count and bytes), whatever the repository's size; compaction holds
 * one merged segment (at most `maxEntries` × 50 bytes).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forEachBounded, mapBounded } from '../concurrency.js';
import { CairnError, isCairnError, throwIfAborted } from '../errors.js';
import { toHex } from '../format/bytes.js';
import { IndexSegmentBuilder, IndexSegmentView } from '../format/index-segment.js';
import type { PackEntry } from '../format/pack-header.js';
import { openObject, sealObject } from '../format/sealed-object.js';
import { blake3 } from '../hashing/index.js';
import type { BlobLocation } from '../index/blob-location.js';
import {
  IndexCache,
  type IndexCacheOptions,
  isUnusableCacheDir,
  SECTION_DIGEST_LENGTH,
  sectionDigests,
} from '../index/index-cache.js';
import { PendingGroup } from '../index/pending-index.js';
import type { Store } from '../store/store.js';
import { INDEX_PREFIX, idFromName, indexName } from './names.js';

/** Progress of an index sync. */
export interface IndexSyncProgress {
  segmentsTotal: number;
  segmentsLoaded: number;
}

/** Result of saving pending entries as a segment. */
export interface SavedSegment {
  id: string;
  packs: number;
  blobs: number;
}

/** What the last {@link RepoIndex.sync} did (diagnostics, tests). */
export interface IndexSyncReport {
  /** Segments listed in the repository. */
  segmentsListed: number;
  /** Segments read and loaded into the cache. */
  segmentsLoaded: number;
  /** Vanished segments forgotten without a rebuild (their entries are listed by present segments). */
  segmentsForgotten: number;
  /** True when the cache was cleared and rebuilt (a vanished segment was not covered). */
  rebuilt: boolean;
  /** Segments that could not be used (damaged: wrong id, failed authentication, bad format). */
  segmentsDamaged: string[];
}

/**
 * Something an operation worked around and a person should know about (a damaged index segment
 * left out, a damaged or unusable local cache replaced). `code` is stable; `message` says what to do.
 */
export interface RepositoryWarning {
  code: 'INDEX_SEGMENT_DAMAGED' | 'CACHE_REBUILT' | 'CACHE_UNUSABLE';
  message: string;
  /** The repository object or local folder concerned. */
  object?: string;
}

/** Result of a compaction. */
export interface CompactionResult {
  /** Ids of the merged segments written. */
  written: string[];
  /** Segments merged into them (and deleted, or left when a delete failed). */
  merged: number;
  /** Entries in the merged segments. */
  blobs: number;
}

/** Options of {@link RepoIndex.open} and {@link RepoIndex.sync}. */
export interface RepoIndexOpenOptions {
  signal?: AbortSignal;
  onProgress?: (p: IndexSyncProgress) => void;
  /** LevelDB tuning of the cache (see {@link IndexCacheOptions}). */
  cache?: IndexCacheOptions;
  /** Segments read at once while syncing (default 8). */
  readConcurrency?: number;
  /** Bytes of segments read at once while syncing, beyond the first (default 8 MiB). */
  readBudgetBytes?: number;
  /** Told of damage worked around (see {@link RepositoryWarning}). */
  onWarning?: (w: RepositoryWarning) => void;
}

/** Segments read at once by sync and compaction. */
const READ_CONCURRENCY = 8;
/**
 * Bytes of segments being read at once (sealed sizes; the decrypted copies double it). Backups'
 * segments are a few KiB, so this binds only for large ones (`repair index` writes ~5 MB), which are
 * bandwidth-bound anyway; measured on 100 000-entry segments: 8 MiB → rebuild peak RSS ~270 MiB,
 * 24 MiB → ~350 MiB, same speed.
 */
const READ_BUDGET_BYTES = 8 * 1024 * 1024;
/** Default size limit of a merged segment, in entries (50 bytes each: 10 MB). */
export const COMPACT_MAX_ENTRIES = 200_000;
/** Segments written by this process are kept in memory for compaction up to this size each … */
const RETAIN_SEGMENT_BYTES = 1024 * 1024;
/** … and this much in total (beyond, compaction reads them back from the store). */
const RETAIN_TOTAL_BYTES = 8 * 1024 * 1024;
/** Times a sync lists again when segments disappear while it reads them (concurrent compaction). */
const SYNC_ROUNDS = 4;
/** Deletes in flight during compaction. */
const DELETE_CONCURRENCY = 8;

/** LevelDB lookups running at once; more requests wait and are merged. */
const LOOKUPS_IN_FLIGHT = 2;
/** Most ids in one merged lookup (a single request may be larger; it is never split). */
const MERGED_LOOKUP_IDS = 4096;
/** Caches of up to this many entries get the dedup filter at a backup's first lookup (scan ≤ ~0.4 s). */
const FILTER_EAGER_ENTRIES = 250_000;

interface QueuedLookup {
  ids: readonly Uint8Array[];
  resolve: (found: (BlobLocation | undefined)[]) => void;
  reject: (err: unknown) => void;
}

interface SessionSegment {
  id: string;
  entries: number;
  /** The payload while small enough to keep (else it is read back from the store). */
  payload?: Uint8Array;
}

export class RepoIndex {
  /** Groups of pending packs not being saved; addPack appends to the last one. */
  private pendingGroups: PendingGroup[] = [];
  /** Groups whose segment is being written: still visible to lookups until the cache has them. */
  private readonly savingGroups = new Set<PendingGroup>();
  /** Segments this RepoIndex wrote and has not merged yet (for {@link compactSession}). */
  private sessionSegments: SessionSegment[] = [];
  private retainedBytes = 0;
  private readonly readConcurrency: number;
  private readonly readBudgetBytes: number;
  /** What the last sync did. */
  lastSync: IndexSyncReport | undefined;
  private readonly lookupQueue: QueuedLookup[] = [];
  private lookupsInFlight = 0;
  /** Dedup filter bookkeeping (see maybeStartFilter). */
  private filterStarted = false;
  private estimating = false;
  private blobEstimate: number | undefined;
  private newChunks = 0;
  /** Segments found damaged (left out of the cache), and the error of each. */
  private readonly damagedSegments = new Map<string, CairnError>();
  private readonly onWarning: ((w: RepositoryWarning) => void) | undefined;

  private constructor(
    private readonly store: Store,
    private readonly dataKey: Uint8Array,
    readonly cache: IndexCache,
    /** True when the cache is private to this process (the shared one was busy) and is deleted on close. */
    readonly privateCache: boolean,
    options: RepoIndexOpenOptions,
  ) {
    this.readConcurrency = Math.max(1, Math.floor(options.readConcurrency ?? READ_CONCURRENCY));
    this.readBudgetBytes = Math.max(1, options.readBudgetBytes ?? READ_BUDGET_BYTES);
    this.onWarning = options.onWarning;
  }

  /**
   * Opens the cache under `cacheDir` (or a private one beside it if another process holds it) and
   * brings it up to date with the repository's segments.
   */
  static async open(
    store: Store,
    dataKey: Uint8Array,
    cacheDir: string,
    options: RepoIndexOpenOptions = {},
  ): Promise<RepoIndex> {
    const shared = join(cacheDir, 'index');
    try {
      return await RepoIndex.openAt(store, dataKey, shared, options);
    } catch (first) {
      if (isCairnError(first, 'ABORTED')) throw first;
      let err = first;
      const cache = (err as CairnError).details?.cache;
      if (cache !== undefined && /No space left on device/.test((err as Error).message)) {
        // A full disk is not damage: keep the cache, say what is wrong.
        throw new CairnError('NO_SPACE', `no space left for the index cache in ${cacheDir}`, { cause: err });
      }
      if (cache === shared && !isUnusableCacheDir(err)) {
        // The cache is damaged or cannot be opened: it is derived data, so start it afresh.
        options.onWarning?.({
          code: 'CACHE_REBUILT',
          object: shared,
          message: `the local index cache ${shared} was unusable (${reason(err)}); it is rebuilt from the repository`,
        });
        await rm(shared, { recursive: true, force: true }).catch(() => {});
        try {
          return await RepoIndex.openAt(store, dataKey, shared, options);
        } catch (again) {
          if (!isUnusableCacheDir(again)) throw again;
          err = again;
        }
      } else if (!isUnusableCacheDir(err)) {
        throw err;
      }
      // The cache folder cannot be written (permissions, read-only, a file in the way): work with
      // a temporary cache, as restic does without one, rather than refuse a restore.
      const temp = await mkdtemp(join(tmpdir(), 'cairn-cache-'));
      options.onWarning?.({
        code: 'CACHE_UNUSABLE',
        object: cacheDir,
        message:
          `cannot use the cache folder ${cacheDir} (${reason(err)}); using a temporary ` +
          `cache in ${temp} for this run (choose a writable one with --cache-dir or CAIRN_CACHE_DIR)`,
      });
      return RepoIndex.openAt(store, dataKey, temp, options, true);
    }
  }

  /** Opens the cache at `dir` (or a private one beside it if another process holds it) and syncs. */
  private static async openAt(
    store: Store,
    dataKey: Uint8Array,
    dir: string,
    options: RepoIndexOpenOptions,
    temporary = false,
  ): Promise<RepoIndex> {
    let cache: IndexCache;
    let privateCache = temporary;
    try {
      cache = await IndexCache.open(dir, options.cache);
    } catch (err) {
      if (!(err instanceof CairnError && err.code === 'LOCKED')) throw err;
      // Another process (e.g. a concurrent backup) holds the shared cache: build a private one.
      cache = await IndexCache.open(`${dir}-${process.pid}-${Date.now().toString(36)}`, options.cache);
      privateCache = true;
    }
    const index = new RepoIndex(store, dataKey, cache, privateCache, options);
    try {
      await index.sync(options);
    } catch (err) {
      await index.close();
      throw err;
    }
    return index;
  }

  /**
   * Loads segments written since the last sync (several at once, within a memory budget). Segments
   * that vanished are forgotten when every pack they listed is listed identically by a present
   * segment (compaction, or a `repair index` that found nothing wrong); otherwise the cache is
   * rebuilt from scratch.
   */
  async sync(options: { signal?: AbortSignal; onProgress?: (p: IndexSyncProgress) => void } = {}): Promise<void> {
    const signal = options.signal;
    const report: IndexSyncReport = {
      segmentsListed: 0,
      segmentsLoaded: 0,
      segmentsForgotten: 0,
      rebuilt: false,
      segmentsDamaged: [],
    };
    for (let round = 1; ; round++) {
      const inStore = await this.listSegments(signal);
      report.segmentsListed = inStore.size;
      const loaded = await this.cache.loadedSegments();
      const vanished = [...loaded].filter((id) => !inStore.has(id));
      const missing = [...inStore.keys()].filter((id) => !loaded.has(id));
      // New segments first: a segment that replaces vanished ones must be loaded to cover them.
      let gone = await this.loadSegments(missing, inStore, options, report);
      const partial = [...(await this.cache.partialSegments())].filter((id) => !inStore.has(id));
      if (vanished.length > 0 || partial.length > 0) {
        const present = (id: string) => inStore.has(id);
        if (partial.length === 0 && (await this.cache.forgetCovered(vanished, present))) {
          report.segmentsForgotten += vanished.length;
        } else {
          await this.cache.clear();
          report.rebuilt = true;
          gone += await this.loadSegments([...inStore.keys()], inStore, options, report);
        }
      }
      // Segments listed but gone when read: deleted by a concurrent compaction or repair, which
      // stored their replacement first. List again to load it.
      if (gone === 0 || round >= SYNC_ROUNDS) break;
    }
    this.lastSync = report;
  }

  private async listSegments(signal?: AbortSignal): Promise<Map<string, number>> {
    const inStore = new Map<string, number>();
    for await (const obj of this.store.list(INDEX_PREFIX, { signal })) {
      const id = idFromName(obj.name, INDEX_PREFIX);
      if (id) inStore.set(id, obj.size);
    }
    return inStore;
  }

  /** Reads and loads segments, several at once; returns how many were not found. */
  private async loadSegments(
    ids: readonly string[],
    sizes: ReadonlyMap<string, number>,
    options: { signal?: AbortSignal; onProgress?: (p: IndexSyncProgress) => void },
    report: IndexSyncReport,
  ): Promise<number> {
    let done = 0;
    let gone = 0;
    options.onProgress?.({ segmentsTotal: ids.length, segmentsLoaded: 0 });
    await forEachBounded(
      ids,
      this.readConcurrency,
      this.readBudgetBytes,
      (id) => sizes.get(id) ?? 0,
      async (id, signal) => {
        let view: IndexSegmentView;
        try {
          view = await this.readSegment(id, signal);
        } catch (err) {
          if (isCairnError(err, 'NOT_FOUND')) {
            gone++;
            return;
          }
          if (!isCairnError(err, 'CORRUPT_DATA') && !isCairnError(err, 'AUTH_FAILED')) throw err;
          // Left out: its entries are unknown to this run (a backup stores that data again, a
          // restore reports the blobs as missing). `repair index` rebuilds them from the packs.
          report.segmentsDamaged.push(id);
          if (!this.damagedSegments.has(id)) {
            this.damagedSegments.set(id, err);
            this.onWarning?.({
              code: 'INDEX_SEGMENT_DAMAGED',
              object: indexName(id),
              message: `${err.message}; its entries are left out (run "cairn repair index" to rebuild the index from the packs)`,
            });
          }
          return;
        }
        await this.cache.addSegment(id, view);
        report.segmentsLoaded++;
        options.onProgress?.({ segmentsTotal: ids.length, segmentsLoaded: ++done });
      },
      options.signal,
    );
    return gone;
  }

  /**
   * Reads one segment from the repository, checks its id and validates it. The result reads the
   * payload in place; its `packs` decodes entries on demand.
   */
  async readSegment(id: string, signal?: AbortSignal): Promise<IndexSegmentView> {
    const name = indexName(id);
    const bytes = await this.store.get(name, { signal });
    if (toHex(blake3(bytes)) !== id) {
      throw new CairnError('CORRUPT_DATA', `${name}: bytes do not match the segment id`, { details: { object: name } });
    }
    return IndexSegmentView.parse(openObject(this.dataKey, 'index', bytes, name), name);
  }

  /**
   * Keeps an in-memory filter of the cache's blob ids from now on (see blob-filter.ts), for
   * {@link lookup} with `likelyNew`. Lookups with `likelyNew` start it themselves when it pays.
   */
  startDedupFilter(): void {
    this.filterStarted = true;
    this.cache.startFilter();
  }

  /** Counts new chunks met by `likelyNew` lookups (see {@link maybeStartFilter}). */
  private noteNewChunks(n: number): void {
    this.newChunks += n;
    if (n > 0) this.maybeStartFilter();
  }

  /**
   * Starts the dedup filter once it pays for its scan (~1.5 µs of CPU per cache entry; 7.7 s for
   * 5 million): at once for a cache of up to {@link FILTER_EAGER_ENTRIES}, else once this process
   * has looked up a thirty-second as many new chunks as the cache holds (each LevelDB call the
   * filter saves costs far more than scanning 32 entries).
   */
  private maybeStartFilter(): void {
    if (this.filterStarted) return;
    if (this.blobEstimate === undefined) {
      if (this.estimating) return;
      this.estimating = true;
      this.cache.estimateBlobs().then(
        (estimate) => {
          this.blobEstimate = estimate;
          this.maybeStartFilter(); // with what was counted meanwhile
        },
        () => {
          this.blobEstimate = Number.POSITIVE_INFINITY; // no estimate: never scan
        },
      );
      return;
    }
    if (this.blobEstimate <= FILTER_EAGER_ENTRIES || this.newChunks * 32 >= this.blobEstimate) {
      this.startDedupFilter();
    }
  }

  /**
   * Looks up blob ids: pending entries of this process first, then the cache. With `likelyNew`
   * (a backup's dedup lookups), ids the cache's filter rules out are answered without LevelDB.
   */
  async lookup(ids: readonly Uint8Array[], options?: { likelyNew?: boolean }): Promise<(BlobLocation | undefined)[]> {
    const groups = this.visibleGroups();
    const filtered = options?.likelyNew === true;
    if (groups.length === 0 && !filtered) return this.cacheLookup(ids);
    const out: (BlobLocation | undefined)[] = new Array(ids.length).fill(undefined);
    const ask: Uint8Array[] = [];
    const at: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      let hit: BlobLocation | undefined;
      for (let g = groups.length - 1; g >= 0 && !hit; g--) hit = groups[g]!.get(id);
      if (hit) out[i] = hit;
      else if (!(filtered && this.cache.certainlyAbsent(id))) {
        ask.push(id);
        at.push(i);
      }
    }
    if (ask.length > 0) {
      const found = await this.cacheLookup(ask);
      found.forEach((loc, j) => {
        out[at[j]!] = loc;
      });
    }
    if (filtered) this.noteNewChunks(out.reduce((n, loc) => (loc ? n : n + 1), 0));
    return out;
  }

  /**
   * Cache lookups, coalesced: up to {@link LOOKUPS_IN_FLIGHT} LevelDB calls run at once, and
   * requests arriving meanwhile (a backup's walk asks once per directory, from many directories at
   * a time) are merged into the next call, which costs a thread-pool round trip each.
   */
  private cacheLookup(ids: readonly Uint8Array[]): Promise<(BlobLocation | undefined)[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.lookupQueue.push({ ids, resolve, reject });
      if (this.lookupsInFlight < LOOKUPS_IN_FLIGHT) this.flushLookups();
    });
  }

  private flushLookups(): void {
    const batch: QueuedLookup[] = [];
    let n = 0;
    while (
      this.lookupQueue.length > 0 &&
      (batch.length === 0 || n + this.lookupQueue[0]!.ids.length <= MERGED_LOOKUP_IDS)
    ) {
      const q = this.lookupQueue.shift()!;
      batch.push(q);
      n += q.ids.length;
    }
    if (batch.length === 0) return;
    this.lookupsInFlight++;
    const all = batch.length === 1 ? batch[0]!.ids : batch.flatMap((b) => b.ids);
    this.cache
      .getMany(all)
      .then(
        (found) => {
          let at = 0;
          for (const b of batch) {
            b.resolve(batch.length === 1 ? found : found.slice(at, at + b.ids.length));
            at += b.ids.length;
          }
        },
        (err: unknown) => {
          for (const b of batch) b.reject(err);
        },
      )
      .finally(() => {
        this.lookupsInFlight--;
        if (this.lookupQueue.length > 0) this.flushLookups();
      });
  }

  /** Pending groups with entries, oldest first. */
  private visibleGroups(): PendingGroup[] {
    const out: PendingGroup[] = [];
    for (const g of this.savingGroups) if (g.entryCount > 0) out.push(g);
    for (const g of this.pendingGroups) if (g.entryCount > 0) out.push(g);
    return out;
  }

  /** Looks up one blob id. */
  async get(id: Uint8Array): Promise<BlobLocation | undefined> {
    return (await this.lookup([id]))[0];
  }

  /** Records a pack this process has stored; its entries become visible to lookups at once. */
  addPack(packIdHex: string, entries: readonly PackEntry[]): void {
    let group = this.pendingGroups[this.pendingGroups.length - 1];
    if (!group) {
      group = new PendingGroup();
      this.pendingGroups.push(group);
    }
    group.addPack(packIdHex, entries);
  }

  /** Packs stored but not yet listed in a saved segment. */
  get pendingPackCount(): number {
    let n = 0;
    for (const g of this.pendingGroups) n += g.packs.length;
    return n;
  }

  /**
   * Writes the pending packs as a new index segment (a checkpoint), then adds it to the cache.
   * Returns undefined when nothing was pending.
   */
  async savePending(signal?: AbortSignal, supersedes: Uint8Array[] = []): Promise<SavedSegment | undefined> {
    const groups = this.pendingGroups.filter((g) => g.packs.length > 0);
    if (groups.length === 0 && supersedes.length === 0) return undefined;
    // Packs added while this segment is written go into the next one.
    this.pendingGroups = [];
    for (const g of groups) this.savingGroups.add(g);
    try {
      let packs = 0;
      let blobs = 0;
      for (const g of groups) {
        packs += g.packs.length;
        blobs += g.entryCount;
      }
      const builder = new IndexSegmentBuilder(supersedes, packs, blobs);
      for (const g of groups) g.writeTo(builder);
      const payload = builder.finish();
      const id = await this.storeSegment(payload, true, signal);
      for (const g of groups) this.savingGroups.delete(g);
      this.remember({ id, entries: blobs }, payload);
      return { id, packs, blobs };
    } catch (err) {
      for (const g of groups) this.savingGroups.delete(g);
      this.pendingGroups = [...groups, ...this.pendingGroups];
      throw err;
    }
  }

  /** Seals and stores a segment payload, then tells the cache (with or without its entries). */
  private async storeSegment(payload: Uint8Array, entries: boolean, signal?: AbortSignal): Promise<string> {
    const bytes = sealObject(this.dataKey, 'index', payload);
    const id = toHex(blake3(bytes));
    const name = indexName(id);
    await this.store.put(name, bytes, { signal });
    await this.cache.addSegment(id, IndexSegmentView.parse(payload, name), { entries });
    return id;
  }

  private remember(segment: SessionSegment, payload: Uint8Array): void {
    if (payload.length <= RETAIN_SEGMENT_BYTES && this.retainedBytes + payload.length <= RETAIN_TOTAL_BYTES) {
      segment.payload = payload;
      this.retainedBytes += payload.length;
    }
    this.sessionSegments.push(segment);
  }

  /**
   * Forgets segments this RepoIndex wrote that someone else superseded and deleted (`repair
   * index`), so a later {@link compactSession} does not merge their entries back into the index.
   */
  forgetSessionSegments(ids: readonly string[]): void {
    const gone = new Set(ids);
    for (const s of this.sessionSegments) if (gone.has(s.id) && s.payload) this.retainedBytes -= s.payload.length;
    this.sessionSegments = this.sessionSegments.filter((s) => !gone.has(s.id));
  }

  /** Segments written by this RepoIndex and not merged yet. */
  get sessionSegmentCount(): number {
    return this.sessionSegments.length;
  }

  /**
   * Merges the segments this RepoIndex wrote (its checkpoints) into one segment that supersedes
   * them — several when they hold more than `maxEntries` entries — stores it, then deletes them,
   * so a backup leaves one segment instead of one per checkpoint. Pending packs are saved first.
   * Call it once the writer is done (after the final `savePending`), not while checkpoints run.
   *
   * Does nothing on a store without deletes (the small segments could not be removed). Segments
   * written by other processes are not touched, so no lock beyond the backup's own is needed.
   * Interrupted at any point, the repository still lists every entry (merged segment stored before
   * any delete) and the worst case is a duplicate listing.
   */
  async compactSession(signal?: AbortSignal, options: { maxEntries?: number } = {}): Promise<CompactionResult> {
    const result: CompactionResult = { written: [], merged: 0, blobs: 0 };
    if (!this.store.capabilities.deletes) return result;
    if (this.pendingPackCount > 0) await this.savePending(signal);
    const maxEntries = options.maxEntries ?? COMPACT_MAX_ENTRIES;
    const runs = planRuns(this.sessionSegments, (s) => s.entries, maxEntries);
    for (const run of runs) {
      throwIfAborted(signal);
      const views = await mapBounded(
        run,
        this.readConcurrency,
        (s, sig) => (s.payload ? Promise.resolve(IndexSegmentView.parse(s.payload)) : this.readSegment(s.id, sig)),
        signal,
      );
      // The merged segment carries forward what its parts superseded.
      const supersedes = uniqueIds([...run.map((s) => s.id), ...views.flatMap((v) => v.supersedes.map(toHex))]);
      const { payload, entries } = mergeViews(views, supersedes);
      const id = await this.storeSegment(payload, false, signal);
      const ids = run.map((s) => s.id);
      await this.deleteSegments(ids, signal);
      await this.cache.forgetSegments(ids);
      const merged = new Set(ids);
      this.sessionSegments = this.sessionSegments.filter((s) => !merged.has(s.id));
      for (const s of run) if (s.payload) this.retainedBytes -= s.payload.length;
      this.remember({ id, entries }, payload);
      result.written.push(id);
      result.merged += run.length;
      result.blobs += entries;
    }
    return result;
  }

  private async deleteSegments(ids: readonly string[], signal?: AbortSignal): Promise<void> {
    await forEachBounded(
      ids,
      DELETE_CONCURRENCY,
      1,
      () => 0,
      (id, s) => this.store.delete(indexName(id), { signal: s }),
      signal,
    );
  }

  /** Closes the cache (deleting it if it was private to this process). */
  async close(): Promise<void> {
    if (this.privateCache) await this.cache.destroy();
    else await this.cache.close();
  }
}

/**
 * Groups items, in order, into runs of at least two whose total weight stays within `max`; items
 * weighing `max` or more stay alone (they are not merged).
 */
function planRuns<T>(items: readonly T[], weight: (t: T) => number, max: number): T[][] {
  const runs: T[][] = [];
  let run: T[] = [];
  let total = 0;
  const flush = () => {
    if (run.length >= 2) runs.push(run);
    run = [];
    total = 0;
  };
  for (const item of items) {
    const w = weight(item);
    if (w >= max) continue;
    if (total + w > max) flush();
    run.push(item);
    total += w;
  }
  flush();
  return runs;
}

/** One segment payload listing every pack section of `views` once (duplicates dropped). */
function mergeViews(
  views: readonly IndexSegmentView[],
  supersedesHex: readonly string[],
): { payload: Uint8Array; entries: number } {
  const seen = new Set<string>();
  const keep: { view: IndexSegmentView; i: number }[] = [];
  let entries = 0;
  for (const view of views) {
    const digests = sectionDigests(view);
    for (let i = 0; i < view.packCount; i++) {
      const d = toHex(digests.subarray(i * SECTION_DIGEST_LENGTH, (i + 1) * SECTION_DIGEST_LENGTH));
      if (seen.has(d)) continue;
      seen.add(d);
      keep.push({ view, i });
      entries += view.packEntryCount(i);
    }
  }
  const builder = new IndexSegmentBuilder(
    supersedesHex.map((h) => Uint8Array.from(Buffer.from(h, 'hex'))),
    keep.length,
    entries,
  );
  for (const { view, i } of keep) builder.addSection(view.section(i));
  return { payload: builder.finish(), entries };
}

function uniqueIds(ids: readonly string[]): string[] {
  return [...new Set(ids)];
}

/** What went wrong, without the advice a wrapping CairnError adds. */
function reason(err: unknown): string {
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error && isCairnError(err, 'CORRUPT_DATA') ? cause.message : (err as Error).message;
}
