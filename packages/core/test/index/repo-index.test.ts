/**
 * RepoIndex: pending entries, checkpoints, incremental and parallel sync, vanished segments
 * (forgotten when covered, rebuilt when not), session compaction.
 */
import { describe, expect, it, vi } from 'vitest';
import { CairnError } from '../../src/errors.js';
import type { PackEntry } from '../../src/format/pack-header.js';
import { locationOf } from '../../src/index/blob-location.js';
import { INDEX_PREFIX, idFromName, indexName } from '../../src/repo/names.js';
import { RepoIndex } from '../../src/repo/repo-index.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { GetOptions, ObjectInfo, PutOptions, Store, StoreCallOptions } from '../../src/store/store.js';
import { TEST_KEYS } from '../fuzz/fixtures.js';
import { failBatchesFrom, makeEntries, makeId, packIdHex, tempDir } from './helpers.js';

const KEY = TEST_KEYS.dataKey;

/** A store wrapper whose calls tests can hook. */
class HookStore implements Store {
  readonly capabilities;
  readonly location = 'hook:';
  gets = 0;
  beforeGet?: (name: string) => Promise<void> | void;
  beforePut?: (name: string) => Promise<void> | void;
  reverseList = false;
  constructor(readonly inner: MemoryStore) {
    this.capabilities = inner.capabilities;
  }
  async put(name: string, data: Uint8Array | AsyncIterable<Uint8Array>, options?: PutOptions) {
    await this.beforePut?.(name);
    return this.inner.put(name, data, options);
  }
  async get(name: string, options?: GetOptions) {
    this.gets++;
    await this.beforeGet?.(name);
    return this.inner.get(name, options);
  }
  stat(name: string, options?: StoreCallOptions) {
    return this.inner.stat(name, options);
  }
  async *list(prefix: string, options?: StoreCallOptions): AsyncIterable<ObjectInfo> {
    const all: ObjectInfo[] = [];
    for await (const o of this.inner.list(prefix, options)) all.push(o);
    if (this.reverseList) all.reverse();
    yield* all;
  }
  delete(name: string, options?: StoreCallOptions) {
    return this.inner.delete(name, options);
  }
  async close() {}
}

async function segmentsIn(store: Store): Promise<string[]> {
  const out: string[] = [];
  for await (const o of store.list(INDEX_PREFIX)) {
    const id = idFromName(o.name, INDEX_PREFIX);
    if (id) out.push(id);
  }
  return out.sort();
}

/** Pack `p` holds blobs p×1000 … p×1000+per-1. */
const packEntries = (p: number, per = 4): PackEntry[] => makeEntries(p * 1000, per);
const blobsOf = (packs: number[], per = 4) => packs.flatMap((p) => packEntries(p, per).map((e) => e.id));

/** Adds packs `packs` and saves them as one segment. */
async function checkpoint(index: RepoIndex, packs: number[], per = 4): Promise<string> {
  for (const p of packs) index.addPack(packIdHex(p), packEntries(p, per));
  return (await index.savePending())!.id;
}

async function expectAll(index: RepoIndex, packs: number[], per = 4): Promise<void> {
  const found = await index.lookup(blobsOf(packs, per));
  const expected = packs.flatMap((p) => packEntries(p, per).map((e) => locationOf(packIdHex(p), e)));
  expect(found).toEqual(expected);
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe('RepoIndex', () => {
  it('pending entries, checkpoints and a reopen round-trip', async () => {
    const store = new MemoryStore();
    const cacheDir = await tempDir();
    const index = await RepoIndex.open(store, KEY, cacheDir);
    index.addPack(packIdHex(1), packEntries(1));
    index.addPack(packIdHex(2), packEntries(2));
    expect(index.pendingPackCount).toBe(2);
    await expectAll(index, [1, 2]); // pending only
    expect(await index.get(makeId(2, 1))).toBeUndefined();
    const saved = await index.savePending();
    expect(saved).toMatchObject({ packs: 2, blobs: 8 });
    expect(index.pendingPackCount).toBe(0);
    expect(await index.savePending()).toBeUndefined();
    await expectAll(index, [1, 2]); // from the cache
    index.addPack(packIdHex(3), packEntries(3));
    await expectAll(index, [1, 2, 3]); // mixed
    await index.savePending();
    await index.close();

    const again = await RepoIndex.open(store, KEY, cacheDir);
    expect(again.lastSync).toMatchObject({ segmentsListed: 2, segmentsLoaded: 0, rebuilt: false });
    await expectAll(again, [1, 2, 3]);
    // The segment is byte-compatible: readSegment decodes the packs.
    const seg = await again.readSegment(saved!.id);
    expect(seg.packs.map((p) => p.entries.length)).toEqual([4, 4]);
    expect(seg.packs[0]!.entries).toEqual(packEntries(1));
    await again.close();
  });

  it('many lookups at once (merged into few cache calls) each get their own answers', async () => {
    const store = new MemoryStore();
    const index = await RepoIndex.open(store, KEY, await tempDir());
    await checkpoint(index, range(1, 41));
    const calls = vi.spyOn(index.cache, 'getMany');
    // 200 requests from 40 packs, some with ids nobody stored, one empty, all in flight together.
    const requests = range(0, 200).map((i) => {
      const p = 1 + (i % 40);
      const known = packEntries(p).slice(0, 1 + (i % 4));
      const ids = known.map((e) => e.id);
      if (i % 3 === 0) ids.push(makeId(2, i));
      return { p, known, ids: i === 7 ? [] : ids };
    });
    const answers = await Promise.all(requests.map((r) => index.lookup(r.ids)));
    requests.forEach((r, i) => {
      if (r.ids.length === 0) {
        expect(answers[i]).toEqual([]);
        return;
      }
      const expected = [
        ...r.known.map((e) => locationOf(packIdHex(r.p), e)),
        ...(r.ids.length > r.known.length ? [undefined] : []),
      ];
      expect(answers[i]).toEqual(expected);
    });
    expect(calls.mock.calls.length).toBeLessThan(20);
    // A failing cache call rejects every request merged into it, and later calls still work.
    calls.mockRejectedValueOnce(new CairnError('IO_ERROR', 'boom'));
    const failing = await Promise.allSettled([index.lookup(blobsOf([1])), index.lookup(blobsOf([2]))]);
    expect(failing[0]).toMatchObject({ status: 'rejected', reason: { code: 'IO_ERROR' } });
    await expectAll(index, [3, 4]);
    await index.close();
  });

  it('keeps entries visible while their segment is written, and pending when it fails', async () => {
    const store = new HookStore(new MemoryStore());
    const index = await RepoIndex.open(store, KEY, await tempDir());
    let release!: () => void;
    store.beforePut = () =>
      new Promise<void>((r) => {
        release = r;
      });
    index.addPack(packIdHex(1), packEntries(1));
    const saving = index.savePending();
    index.addPack(packIdHex(2), packEntries(2)); // during the save: goes to the next segment
    await new Promise((r) => setTimeout(r, 10));
    await expectAll(index, [1, 2]);
    expect(index.pendingPackCount).toBe(1);
    release();
    expect(await saving).toMatchObject({ packs: 1 });
    store.beforePut = () => {
      throw new CairnError('IO_ERROR', 'disk full');
    };
    index.addPack(packIdHex(3), packEntries(3));
    await expect(index.savePending()).rejects.toThrow('disk full');
    expect(index.pendingPackCount).toBe(2);
    await expectAll(index, [1, 2, 3]);
    store.beforePut = undefined;
    expect(await index.savePending()).toMatchObject({ packs: 2, blobs: 8 });
    await expectAll(index, [1, 2, 3]);
    await index.close();
  });

  it('syncs new segments written by another process, several at once, reporting progress', async () => {
    const store = new HookStore(new MemoryStore());
    const writer = await RepoIndex.open(store, KEY, await tempDir());
    const reader = await RepoIndex.open(store, KEY, await tempDir(), { readConcurrency: 4 });
    for (let s = 0; s < 40; s++) await checkpoint(writer, [s * 2, s * 2 + 1]);
    let inFlight = 0;
    let maxInFlight = 0;
    store.beforeGet = async () => {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await new Promise((r) => setTimeout(r, 2));
      inFlight--;
    };
    const progress: number[] = [];
    await reader.sync({ onProgress: (p) => progress.push(p.segmentsLoaded) });
    expect(maxInFlight).toBe(4);
    expect(progress).toEqual(range(0, 41));
    expect(reader.lastSync).toMatchObject({ segmentsListed: 40, segmentsLoaded: 40, rebuilt: false });
    await expectAll(reader, range(0, 80));
    await reader.sync();
    expect(reader.lastSync!.segmentsLoaded).toBe(0);
    await writer.close();
    await reader.close();
  });

  it('stops a sync on the first failure and on abort', async () => {
    const store = new HookStore(new MemoryStore());
    const writer = await RepoIndex.open(store, KEY, await tempDir());
    for (let s = 0; s < 10; s++) await checkpoint(writer, [s]);
    let n = 0;
    store.beforeGet = () => {
      if (++n === 5) throw new CairnError('IO_ERROR', 'read failed');
    };
    await expect(RepoIndex.open(store, KEY, await tempDir())).rejects.toThrow('read failed');
    const ac = new AbortController();
    store.beforeGet = () => ac.abort();
    await expect(RepoIndex.open(store, KEY, await tempDir(), { signal: ac.signal })).rejects.toMatchObject({
      code: 'ABORTED',
    });
    await writer.close();
  });

  it('compactSession leaves one segment listing every entry; other readers forget the old ones', async () => {
    const store = new HookStore(new MemoryStore());
    const backup = await RepoIndex.open(store, KEY, await tempDir());
    const reader = await RepoIndex.open(store, KEY, await tempDir());
    const other = await RepoIndex.open(store, KEY, await tempDir());
    const before = await checkpoint(other, [100]); // another process's segment: not touched
    await other.close();
    for (let s = 0; s < 5; s++) await checkpoint(backup, [s * 3, s * 3 + 1, s * 3 + 2]);
    backup.addPack(packIdHex(15), packEntries(15)); // pending: saved by the compaction
    await reader.sync();
    expect(reader.lastSync!.segmentsLoaded).toBe(6);
    await backup.sync();

    const freshBackup = await RepoIndex.open(store, KEY, await tempDir());
    const result = await freshBackup.compactSession(); // wrote nothing: nothing to do
    expect(result.written).toEqual([]);
    await freshBackup.close();

    const compacted = await backup.compactSession();
    expect(compacted).toMatchObject({ merged: 6, blobs: 16 * 4 });
    expect(compacted.written).toHaveLength(1);
    expect(await segmentsIn(store)).toEqual([before, compacted.written[0]].sort());
    expect(backup.sessionSegmentCount).toBe(1);
    await expectAll(backup, [...range(0, 16), 100]);
    expect(backup.cache.stats.clears).toBe(0);

    const clear = vi.spyOn(reader.cache, 'clear');
    const written = reader.cache.stats.entriesWritten;
    await reader.sync();
    expect(reader.lastSync).toMatchObject({ segmentsLoaded: 1, segmentsForgotten: 5, rebuilt: false });
    expect(clear).not.toHaveBeenCalled();
    expect(reader.cache.stats.entriesWritten).toBe(written + 4); // only pack 15, new to the reader
    expect(await reader.cache.loadedSegments()).toEqual(new Set([before, ...compacted.written]));
    await expectAll(reader, [...range(0, 16), 100]);

    // A fresh cache rebuilt from the compacted repository has everything.
    const rebuilt = await RepoIndex.open(store, KEY, await tempDir());
    await expectAll(rebuilt, [...range(0, 16), 100]);
    expect(await rebuilt.cache.countBlobs()).toBe(17 * 4);
    await Promise.all([backup.close(), reader.close(), rebuilt.close()]);
  });

  it('compactSession reads back segments it did not keep, splits by maxEntries, and needs deletes', async () => {
    const store = new HookStore(new MemoryStore());
    const index = await RepoIndex.open(store, KEY, await tempDir());
    for (let s = 0; s < 6; s++) await checkpoint(index, [s], 10);
    // Forget the kept payloads: compaction must read them from the store.
    for (const s of (index as unknown as { sessionSegments: { payload?: Uint8Array }[] }).sessionSegments)
      delete s.payload;
    const gets = store.gets;
    const result = await index.compactSession(undefined, { maxEntries: 25 });
    expect(store.gets - gets).toBe(6);
    expect(result.written).toHaveLength(3); // 2 + 2 + 2 segments of 10 entries
    expect(await segmentsIn(store)).toEqual([...result.written].sort());
    await expectAll(index, range(0, 6), 10);
    await index.close();

    const worm = new MemoryStore({ capabilities: { deletes: false } });
    const w = await RepoIndex.open(worm, KEY, await tempDir());
    await checkpoint(w, [1]);
    await checkpoint(w, [2]);
    expect((await w.compactSession()).written).toEqual([]);
    expect(await segmentsIn(worm)).toHaveLength(2);
    await w.close();
  });

  it('a reader that loaded the merged segment before its parts forgets them without a rebuild', async () => {
    const inner = new MemoryStore();
    const store = new HookStore(inner);
    const backup = await RepoIndex.open(store, KEY, await tempDir());
    for (let s = 0; s < 3; s++) await checkpoint(backup, [s]);
    // Compaction, caught between storing the merged segment and deleting the parts.
    const parts = await segmentsIn(store);
    const held: string[] = [];
    const del = inner.delete.bind(inner);
    inner.delete = async (name: string) => {
      held.push(name);
    };
    const { written } = await backup.compactSession();
    expect(await segmentsIn(store)).toHaveLength(4);
    // The reader lists the merged segment first (reverse order), loads it, then the parts.
    store.reverseList = true;
    const reader = await RepoIndex.open(store, KEY, await tempDir(), { readConcurrency: 1 });
    expect(reader.lastSync!.segmentsLoaded).toBe(4);
    const repoint = vi.spyOn(reader.cache as unknown as { pointSectionsAt: () => Promise<void> }, 'pointSectionsAt');
    for (const name of held) await del(name);
    expect(await segmentsIn(store)).toEqual(written);
    await reader.sync();
    expect(reader.lastSync).toMatchObject({ segmentsForgotten: 3, rebuilt: false });
    expect(repoint).toHaveBeenCalled();
    expect(parts.every((p) => !written.includes(p))).toBe(true);
    await expectAll(reader, [0, 1, 2]);
    await Promise.all([backup.close(), reader.close()]);
  });

  it('rebuilds when a vanished segment is not covered (deleted, or superseded by a smaller one)', async () => {
    const store = new MemoryStore();
    const writer = await RepoIndex.open(store, KEY, await tempDir());
    const reader = await RepoIndex.open(store, KEY, await tempDir());
    const a = await checkpoint(writer, [1, 2]);
    const b = await checkpoint(writer, [3]);
    await reader.sync();
    await store.delete(indexName(b));
    const clear = vi.spyOn(reader.cache, 'clear');
    await reader.sync();
    expect(reader.lastSync).toMatchObject({ rebuilt: true, segmentsLoaded: 1 });
    expect(clear).toHaveBeenCalledTimes(1);
    await expectAll(reader, [1, 2]);
    expect(await reader.lookup(blobsOf([3]))).toEqual([undefined, undefined, undefined, undefined]);

    // A repair-like segment that supersedes `a` but drops pack 2: pack 2's entries must go.
    writer.addPack(packIdHex(1), packEntries(1));
    await writer.savePending(undefined, [Buffer.from(a, 'hex')]);
    await store.delete(indexName(a));
    await reader.sync();
    expect(reader.lastSync!.rebuilt).toBe(true);
    await expectAll(reader, [1]);
    expect((await reader.lookup(blobsOf([2]))).every((l) => l === undefined)).toBe(true);
    await Promise.all([writer.close(), reader.close()]);
  });

  it('a crash mid-way through a large segment: loaded again if present, rebuild if it vanished', async () => {
    const store = new MemoryStore();
    const writer = await RepoIndex.open(store, KEY, await tempDir());
    const big = await checkpoint(writer, range(0, 10), 20); // 200 entries
    const small = await checkpoint(writer, [50]);
    // Simulate the crash: a fresh cache that gets the small segment, then dies in the big one.
    const crashIntoFreshCache = async (): Promise<string> => {
      const dir = await tempDir();
      const crashing = await RepoIndex.open(new MemoryStore(), KEY, dir, { cache: { subBatchEntries: 16 } });
      await crashing.cache.addSegment(small, await writer.readSegment(small));
      failBatchesFrom(crashing.cache, 4);
      await expect(crashing.cache.addSegment(big, await writer.readSegment(big))).rejects.toThrow('simulated crash');
      await crashing.close();
      return dir;
    };
    const dir2 = await crashIntoFreshCache();

    // Segment still present: loaded again, completely.
    const resumed = await RepoIndex.open(store, KEY, dir2, { cache: { subBatchEntries: 16 } });
    expect(resumed.lastSync).toMatchObject({ segmentsLoaded: 1, rebuilt: false });
    expect(await resumed.cache.partialSegments()).toEqual(new Set());
    await expectAll(resumed, range(0, 10), 20);
    await resumed.close();

    // Crash again, then the segment vanishes before the next sync: its stray entries must go.
    const dir3 = await crashIntoFreshCache();
    await store.delete(indexName(big));
    const after = await RepoIndex.open(store, KEY, dir3);
    expect(after.lastSync!.rebuilt).toBe(true);
    expect(await after.cache.countBlobs()).toBe(4);
    await Promise.all([writer.close(), after.close()]);
  });

  it('lists again when a segment disappears during a sync (concurrent compaction)', async () => {
    const store = new HookStore(new MemoryStore());
    const backup = await RepoIndex.open(store, KEY, await tempDir());
    for (let s = 0; s < 4; s++) await checkpoint(backup, [s]);
    let compacting: Promise<unknown> | undefined;
    store.beforeGet = async () => {
      if (!compacting) {
        compacting = backup.compactSession();
        await compacting;
      }
    };
    const reader = await RepoIndex.open(store, KEY, await tempDir(), { readConcurrency: 1 });
    // The first listing named 4 segments, all gone when read; the second names the merged one.
    expect(reader.lastSync).toMatchObject({ segmentsListed: 1, segmentsLoaded: 1, rebuilt: false });
    await expectAll(reader, [0, 1, 2, 3]);
    await Promise.all([backup.close(), reader.close()]);
  });
});
