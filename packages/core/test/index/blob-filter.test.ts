/**
 * The dedup filter: never misses an id it was given (nor one the cache held when its scan began,
 * nor one added after), rules out most others, grows in stages and gives up past its memory limit
 * (then it rules out nothing). RepoIndex lookups marked likely-new skip LevelDB for ruled-out ids
 * and still find every id the cache holds.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BlobFilter } from '../../src/index/blob-filter.js';
import { IndexCache } from '../../src/index/index-cache.js';
import { makeEntries, makeId, packIdHex, tempDir } from './helpers.js';

const ids = (n: number) => Array.from({ length: n }, () => new Uint8Array(randomBytes(32)));

describe('BlobFilter', () => {
  it('holds every id added and rules out almost all others', () => {
    const f = new BlobFilter();
    const added = ids(50_000);
    for (const id of added) f.add(id);
    expect(added.every((id) => f.has(id))).toBe(true);
    const others = ids(50_000);
    const maybe = others.filter((id) => f.has(id)).length;
    expect(maybe / others.length).toBeLessThan(0.01);
  });

  it('takes ids at an offset of a larger buffer (cache keys carry a prefix byte)', () => {
    const f = new BlobFilter();
    const id = new Uint8Array(randomBytes(32));
    const key = new Uint8Array(33);
    key[0] = 0x62;
    key.set(id, 1);
    f.add(key, 1);
    expect(f.has(id)).toBe(true);
  });

  it('grows in stages, and past its memory limit rules out nothing and frees its bits', () => {
    const f = new BlobFilter(1000, 32 * 1024); // stages of 8 KiB, 8 KiB, then 32 KiB
    const added = ids(5000); // stages of 1000 and 4000 entries
    for (const id of added) f.add(id);
    expect(f.usable).toBe(true);
    expect(added.every((id) => f.has(id))).toBe(true);
    expect(ids(10_000).filter((id) => f.has(id)).length).toBeLessThan(200);
    for (const id of ids(1)) f.add(id); // a third stage (16 000 entries) would pass 32 KiB
    expect(f.usable).toBe(false);
    expect(f.bytes).toBe(0);
    expect(ids(100).every((id) => f.has(id))).toBe(true);
  });
});

describe('IndexCache filter', () => {
  const segment = (first: number, packs: number, per: number) => ({
    supersedes: [],
    packs: Array.from({ length: packs }, (_, p) => ({
      packId: Buffer.from(packIdHex(first + p), 'hex'),
      entries: makeEntries((first + p) * 1000, per),
    })),
  });

  it('rules out only ids the cache does not hold: those there before the scan, and those added after', async () => {
    const cache = await IndexCache.open(await tempDir());
    await cache.addSegment(hex(makeId(7, 1)), segment(0, 10, 300));
    const before = segment(0, 10, 300).packs.flatMap((p) => p.entries.map((e) => e.id));
    const fresh = ids(2000);
    expect(fresh.some((id) => cache.certainlyAbsent(id))).toBe(false); // no filter yet
    cache.startFilter();
    await cache.addSegment(hex(makeId(7, 2)), segment(50, 2, 300)); // during the scan
    await cache.filterScanned();
    const after = segment(50, 2, 300).packs.flatMap((p) => p.entries.map((e) => e.id));
    expect([...before, ...after].some((id) => cache.certainlyAbsent(id))).toBe(false);
    const ruledOut = fresh.filter((id) => cache.certainlyAbsent(id)).length;
    expect(ruledOut).toBeGreaterThan(1950);
    expect(cache.stats.filterRuledOut).toBe(ruledOut);
    await cache.addSegment(hex(makeId(7, 3)), {
      supersedes: [],
      packs: [{ packId: Buffer.alloc(32, 9), entries: [{ ...makeEntries(1, 1)[0]!, id: fresh[0]! }] }],
    });
    expect(cache.certainlyAbsent(fresh[0]!)).toBe(false);
    // Emptied: everything is absent again, and what is added next is not.
    await cache.clear();
    expect(cache.certainlyAbsent(before[0]!)).toBe(true);
    await cache.close();
  });
});

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

describe('IndexCache filter and loads under way', () => {
  it('a segment load begun before the filter existed is waited for by the scan', async () => {
    const cache = await IndexCache.open(await tempDir());
    const seg = {
      supersedes: [],
      packs: Array.from({ length: 30 }, (_, p) => ({
        packId: Buffer.from(packIdHex(500 + p), 'hex'),
        entries: makeEntries((500 + p) * 1000, 400),
      })),
    };
    const loading = cache.addSegment(hex(makeId(7, 9)), seg); // 12 000 entries: several sub-batches
    cache.startFilter(); // while that load is under way
    await loading;
    await cache.filterScanned();
    const loaded = seg.packs.flatMap((p) => p.entries.map((e) => e.id));
    expect(loaded.some((id) => cache.certainlyAbsent(id))).toBe(false);
    expect(ids(1000).filter((id) => cache.certainlyAbsent(id)).length).toBeGreaterThan(950);
    await cache.close();
  });
});

describe('backup with the dedup filter', () => {
  it('a backup after the filter is built stores only the new data and finds every old chunk', async () => {
    const { mkdirSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { backup } = await import('../../src/backup/backup.js');
    const { Repository } = await import('../../src/repo/repository.js');
    const { MemoryStore } = await import('../../src/store/memory-store.js');
    const work = await tempDir();
    const src = join(work, 'src');
    mkdirSync(join(src, 'old'), { recursive: true });
    for (let i = 0; i < 8; i++) writeFileSync(join(src, 'old', `f${i}`), randomBytes(300_000));
    const store = new MemoryStore();
    const cacheDir = join(work, 'cache');
    const repo = await Repository.init(store, { password: 'pw', scrypt: { N: 1024, r: 8, p: 1 }, cacheDir });
    await backup(repo, { paths: [src], threads: 0 });
    await repo.close();

    mkdirSync(join(src, 'new'));
    const added = randomBytes(500_000);
    writeFileSync(join(src, 'new', 'g'), added);
    const again = await Repository.open(store, { password: 'pw', cacheDir });
    const index = await again.index();
    index.startDedupFilter();
    await index.cache.filterScanned();
    // kind 'full': every old file is read and chunked again, so its chunks are looked up.
    const s = await backup(again, { paths: [src], threads: 0, kind: 'full' });
    expect(s.bytes.added).toBe(added.length);
    expect(index.cache.stats.filterRuledOut).toBeGreaterThan(0);
    await again.close();
  });
});

describe('when the dedup filter starts', () => {
  it('a small cache gets it from the first likely-new lookup; other lookups never start it', async () => {
    const { join } = await import('node:path');
    const { Repository } = await import('../../src/repo/repository.js');
    const { MemoryStore } = await import('../../src/store/memory-store.js');
    const work = await tempDir();
    const repo = await Repository.init(new MemoryStore(), {
      password: 'pw',
      scrypt: { N: 1024, r: 8, p: 1 },
      cacheDir: join(work, 'cache'),
    });
    const index = await repo.index();
    await index.lookup(ids(10)); // restore, verify, unchanged-file checks: no filter
    await new Promise((r) => setTimeout(r, 20));
    await index.cache.filterScanned();
    await index.lookup(ids(10), { likelyNew: true });
    expect(index.cache.stats.filterRuledOut).toBe(0);
    // The estimate and the scan run in the background; then new ids no longer reach LevelDB.
    for (let i = 0; i < 50 && index.cache.stats.filterRuledOut === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
      await index.cache.filterScanned();
      await index.lookup(ids(10), { likelyNew: true });
    }
    expect(index.cache.stats.filterRuledOut).toBeGreaterThan(0);
    await repo.close();
  });
});
