/**
 * Bulk tree loading with the tree blobs opened elsewhere (restore hands them to its writer
 * threads): the same trees as opening them here, damaged blobs left to `get` (which reports the
 * precise error), and an opener that fails falling back to opening here.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup } from '../../src/backup/backup.js';
import { Repository } from '../../src/repo/repository.js';
import { findSnapshot } from '../../src/repo/snapshots.js';
import { findPath } from '../../src/repo/tree-walk.js';
import { TreeLoader, type TreeOpener } from '../../src/restore/tree-loader.js';
import { runOpenTrees } from '../../src/restore/tree-open.js';
import { MemoryStore } from '../../src/store/memory-store.js';

let work: string;
let store: MemoryStore;
let ids: string[];
let damaged: string;

async function open(): Promise<Repository> {
  return Repository.open(store, { password: 'pw', cacheDir: join(work, 'cache') });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'cairn-trees-'));
  const src = join(work, 'src');
  // Names that compress poorly, so the trees span more than one opening job (256 KiB each).
  for (let d = 0; d < 40; d++) {
    mkdirSync(join(src, `d${d}`), { recursive: true });
    for (let f = 0; f < 100; f++) {
      const name = createHash('sha256').update(`${d}/${f}`).digest('hex');
      writeFileSync(join(src, `d${d}`, name), `${d}/${f}\n`);
    }
  }
  store = new MemoryStore();
  const repo = await Repository.init(store, {
    password: 'pw',
    scrypt: { N: 1024, r: 8, p: 1 },
    cacheDir: join(work, 'cache'),
  });
  await backup(repo, { paths: [src], threads: 0 });
  const snap = await findSnapshot(repo, 'latest');
  ids = [];
  for (let d = 0; d < 40; d++) ids.push((await findPath(repo, snap.tree, join(src, `d${d}`))).node!.subtree!);
  // Damage one tree blob in its pack.
  damaged = ids[7]!;
  const loc = (await (await repo.index()).get(Buffer.from(damaged, 'hex')))!;
  const name = `data/${loc.packId.slice(0, 2)}/${loc.packId}`;
  const bytes = new Uint8Array(await store.get(name));
  bytes[loc.offset + Math.floor(loc.length / 2)]! ^= 0xff;
  await store.delete(name);
  await store.put(name, bytes);
  await repo.close();
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('TreeLoader with an opener', () => {
  it('loads the same trees as opening them here, in several jobs, leaving the damaged one to get()', async () => {
    const here = await open();
    const expected = await new TreeLoader(here, 1_000_000).loadMany(ids);
    await here.close();
    expect(expected.size).toBe(39);
    expect(expected.has(damaged)).toBe(false);

    const repo = await open();
    const jobs: number[] = [];
    const opener: TreeOpener = async (buf, blobs) => {
      jobs.push(blobs.length);
      return runOpenTrees(repo.keys, { kind: 'open-trees', n: -2, buf, blobs });
    };
    const loader = new TreeLoader(repo, 1_000_000, undefined, () => opener);
    const got = await loader.loadMany(ids);
    expect([...got.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [id, tree] of got) expect(tree).toEqual(expected.get(id));
    expect(jobs.reduce((a, b) => a + b, 0)).toBe(40);
    expect(jobs.length).toBeGreaterThan(1);
    await expect(loader.get(damaged)).rejects.toMatchObject({ code: 'AUTH_FAILED' });
    await repo.close();
  });

  it('opens here when the opener fails', async () => {
    const repo = await open();
    const loader = new TreeLoader(repo, 1_000_000, undefined, () => () => Promise.reject(new Error('thread gone')));
    const got = await loader.loadMany(ids);
    expect(got.size).toBe(39);
    await repo.close();
  });

  it('a blob whose header claims more than the blob limit fails alone and allocates nothing', async () => {
    const repo = await open();
    const loc = (await (await repo.index()).get(Buffer.from(ids[3]!, 'hex')))!;
    const sealed = await store.get(`data/${loc.packId.slice(0, 2)}/${loc.packId}`, {
      offset: loc.offset,
      length: loc.length,
    });
    const blob = { off: 0, len: loc.length, id: loc.id, type: loc.type, compression: loc.compression };
    const r = runOpenTrees(repo.keys, {
      kind: 'open-trees',
      n: -2,
      buf: new Uint8Array(Buffer.concat([sealed, sealed])),
      blobs: [
        { ...blob, rawLength: 2 ** 31 },
        { ...blob, off: loc.length, rawLength: loc.rawLength },
      ],
    });
    expect([...r.ends]).toEqual([-1, loc.rawLength]);
    expect(r.raw.length).toBe(loc.rawLength);
    await repo.close();
  });
});
