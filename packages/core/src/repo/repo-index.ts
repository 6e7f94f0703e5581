/**
 * The repository's blob index as one process sees it: the LevelDB cache of every stored index
 * segment, plus the packs this process stored whose segment is not written yet. Lookups are batched.
 *
 * Ordering rule that keeps repositories consistent: a pack is stored before its index segment, a
 * segment before the cache learns its entries, and a snapshot only after the segments it needs.
 * So the cache never points at a blob no segment lists, and an interrupted backup leaves packs and
 * segments that the next run reuses.
 */
import { join } from 'node:path';
import { CairnError, throwIfAborted } from '../errors.js';
import { toHex } from '../format/bytes.js';
import { decodeIndexSegment, encodeIndexSegment, type IndexedPack } from '../format/index-segment.js';
import type { PackEntry } from '../format/pack-header.js';
import { openObject, sealObject } from '../format/sealed-object.js';
import { blake3 } from '../hashing/index.js';
import { type BlobLocation, locationOf } from '../index/blob-location.js';
import { IndexCache } from '../index/index-cache.js';
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

export class RepoIndex {
  private readonly pending = new Map<string, BlobLocation>();
  private pendingPacks: IndexedPack[] = [];

  private constructor(
    private readonly store: Store,
    private readonly dataKey: Uint8Array,
    readonly cache: IndexCache,
    /** True when the cache is private to this process (the shared one was busy) and is deleted on close. */
    readonly privateCache: boolean,
  ) {}

  /**
   * Opens the cache under `cacheDir` (or a private one beside it if another process holds it) and
   * brings it up to date with the repository's segments.
   */
  static async open(
    store: Store,
    dataKey: Uint8Array,
    cacheDir: string,
    options: { signal?: AbortSignal; onProgress?: (p: IndexSyncProgress) => void } = {},
  ): Promise<RepoIndex> {
    let cache: IndexCache;
    let privateCache = false;
    try {
      cache = await IndexCache.open(join(cacheDir, 'index'));
    } catch (err) {
      if (!(err instanceof CairnError && err.code === 'LOCKED')) throw err;
      // Another process (e.g. a concurrent backup) holds the shared cache: build a private one.
      cache = await IndexCache.open(join(cacheDir, `index-${process.pid}-${Date.now().toString(36)}`));
      privateCache = true;
    }
    const index = new RepoIndex(store, dataKey, cache, privateCache);
    try {
      await index.sync(options);
    } catch (err) {
      await index.close();
      throw err;
    }
    return index;
  }

  /** Loads segments written since the last sync; rebuilds from scratch if any known segment vanished. */
  async sync(options: { signal?: AbortSignal; onProgress?: (p: IndexSyncProgress) => void } = {}): Promise<void> {
    const inStore = new Set<string>();
    for await (const obj of this.store.list(INDEX_PREFIX, { signal: options.signal })) {
      const id = idFromName(obj.name, INDEX_PREFIX);
      if (id) inStore.add(id);
    }
    let loaded = await this.cache.loadedSegments();
    if ([...loaded].some((id) => !inStore.has(id))) {
      await this.cache.clear();
      loaded = new Set();
    }
    const missing = [...inStore].filter((id) => !loaded.has(id));
    let done = 0;
    options.onProgress?.({ segmentsTotal: missing.length, segmentsLoaded: 0 });
    for (const id of missing) {
      throwIfAborted(options.signal);
      const segment = await this.readSegment(id, options.signal);
      await this.cache.addSegment(id, segment);
      options.onProgress?.({ segmentsTotal: missing.length, segmentsLoaded: ++done });
    }
  }

  /** Reads and decodes one segment from the repository. */
  async readSegment(id: string, signal?: AbortSignal) {
    const name = indexName(id);
    const bytes = await this.store.get(name, { signal });
    if (toHex(blake3(bytes)) !== id) {
      throw new CairnError('CORRUPT_DATA', `${name}: bytes do not match the segment id`, { details: { object: name } });
    }
    return decodeIndexSegment(openObject(this.dataKey, 'index', bytes, name), name);
  }

  /** Looks up blob ids: pending entries of this process first, then the cache. */
  async lookup(ids: readonly Uint8Array[]): Promise<(BlobLocation | undefined)[]> {
    const out: (BlobLocation | undefined)[] = new Array(ids.length);
    const ask: Uint8Array[] = [];
    const at: number[] = [];
    ids.forEach((id, i) => {
      const hit = this.pending.get(toHex(id));
      if (hit) out[i] = hit;
      else {
        ask.push(id);
        at.push(i);
      }
    });
    const found = await this.cache.getMany(ask);
    found.forEach((loc, j) => {
      out[at[j]!] = loc;
    });
    return out;
  }

  /** Looks up one blob id. */
  async get(id: Uint8Array): Promise<BlobLocation | undefined> {
    return (await this.lookup([id]))[0];
  }

  /** Records a pack this process has stored; its entries become visible to lookups at once. */
  addPack(packIdHex: string, entries: readonly PackEntry[]): void {
    for (const e of entries) this.pending.set(toHex(e.id), locationOf(packIdHex, e));
    this.pendingPacks.push({ packId: Buffer.from(packIdHex, 'hex'), entries: [...entries] });
  }

  /** Packs stored but not yet listed in a saved segment. */
  get pendingPackCount(): number {
    return this.pendingPacks.length;
  }

  /**
   * Writes the pending packs as a new index segment (a checkpoint), then adds it to the cache.
   * Returns undefined when nothing was pending.
   */
  async savePending(signal?: AbortSignal, supersedes: Uint8Array[] = []): Promise<SavedSegment | undefined> {
    if (this.pendingPacks.length === 0 && supersedes.length === 0) return undefined;
    // Packs added while this segment is written go into the next one.
    const packs = this.pendingPacks;
    this.pendingPacks = [];
    const segment = { supersedes, packs };
    try {
      const bytes = sealObject(this.dataKey, 'index', encodeIndexSegment(segment));
      const id = toHex(blake3(bytes));
      await this.store.put(indexName(id), bytes, { signal });
      await this.cache.addSegment(id, segment);
      let blobs = 0;
      for (const p of packs) {
        blobs += p.entries.length;
        for (const e of p.entries) this.pending.delete(toHex(e.id));
      }
      return { id, packs: packs.length, blobs };
    } catch (err) {
      this.pendingPacks = [...packs, ...this.pendingPacks];
      throw err;
    }
  }

  /** Closes the cache (deleting it if it was private to this process). */
  async close(): Promise<void> {
    if (this.privateCache) await this.cache.destroy();
    else await this.cache.close();
  }
}
