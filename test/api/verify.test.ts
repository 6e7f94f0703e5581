import { mkdirSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  backup,
  findPath,
  listSnapshots,
  Repository,
  repairIndex,
  repairSnapshots,
  repositoryStats,
  restore,
  snapshotStats,
  verify,
} from '@cairn/core';
import { DiskStore } from '@cairn/store-disk';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, FAST_KDF, newRepo, PASSWORD, reopen } from './helpers.js';
import { seededBytes } from './tree-fixtures.js';

afterAll(cleanup);

/** A repository with two snapshots over several small packs. */
async function fixture() {
  const r = await newRepo(undefined, { packSize: 1024 * 1024 });
  const src = join(r.base, 'src');
  mkdirSync(join(src, 'd'), { recursive: true });
  for (let i = 0; i < 6; i++) writeFileSync(join(src, 'd', `f${i}`), seededBytes(1536 * 1024, 300 + i));
  writeFileSync(join(src, 'small'), 'small file');
  await backup(r.repo, { paths: [src] });
  writeFileSync(join(src, 'later'), seededBytes(100_000, 9));
  await backup(r.repo, { paths: [src] });
  return { ...r, src };
}

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && !e.name.startsWith('.'))
    .map((e) => join(e.parentPath, e.name));
}

async function packOf(repo: Repository, tree: string, path: string): Promise<string> {
  const { node } = await findPath(repo, tree, path);
  return (await repo.locate(node!.content![0]!)).packId;
}

function packFile(base: string, packId: string): string {
  return join(base, 'repo', 'data', packId.slice(0, 2), packId);
}

describe('verify', () => {
  it('finds nothing wrong in a sound repository, at every depth', async () => {
    const { repo } = await fixture();
    const plain = await verify(repo);
    expect(plain.ok).toBe(true);
    expect(plain.checked.snapshots).toBe(2);
    expect(plain.checked.packsRead).toBe(plain.checked.packs);
    const full = await verify(repo, { readData: true, restoreDrill: 4 });
    expect(full.ok).toBe(true);
    expect(full.checked.blobsRead).toBe(full.checked.indexEntries);
    expect(full.drill?.files).toHaveLength(4);
    expect(full.drill?.files.every((f) => f.ok)).toBe(true);
    await repo.close();
  });

  it('reads deterministic and random subsets of packs', async () => {
    const { repo } = await fixture();
    const all = (await verify(repo, { readData: true })).checked.packs;
    const slices = await Promise.all([1, 2, 3].map((k) => verify(repo, { readData: true, subset: `${k}/3` })));
    expect(slices.reduce((n, r) => n + r.checked.packsRead, 0)).toBe(all);
    const again = await verify(repo, { readData: true, subset: '2/3' });
    expect(again.checked.packsRead).toBe(slices[1]!.checked.packsRead);
    expect((await verify(repo, { readData: true, subset: '100%' })).checked.packsRead).toBe(all);
    const random = await verify(repo, { readData: true, subset: 'random:50%' });
    expect(random.checked.packsRead).toBe(Math.ceil(all / 2));
    await expect(verify(repo, { subset: '0%' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(verify(repo, { subset: '4/3' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await repo.close();
  });

  it('detects a flipped bit, names the pack, the blob, the snapshots and the paths; repair snapshots drops only the lost file', async () => {
    const { repo, base, src } = await fixture();
    const [first, second] = await listSnapshots(repo);
    const { node } = await findPath(repo, first!.tree, join(src, 'd', 'f2'));
    const loc = await repo.locate(node!.content![0]!);
    const packId = loc.packId;
    const file = packFile(base, packId);
    const bytes = readFileSync(file);
    bytes[loc.offset + 100] = bytes[loc.offset + 100]! ^ 1; // inside f2's first chunk
    writeFileSync(file, bytes);
    const f2 = join(src, 'd', 'f2');
    const blobId = node!.content![0]!;

    for (const readData of [true, false]) {
      const report = await verify(repo, { readData });
      expect(report.ok).toBe(false);
      // The pack is damaged, but it blames no file: its other blobs opened and are intact.
      const p = report.problems.find((x) => x.object.endsWith(packId))!;
      expect(p).toMatchObject({ kind: 'pack', code: 'CORRUPT_DATA', paths: [], snapshots: [] });
      expect(p.message).toMatch(/1 of its \d+ blob\(s\) failed to open/);
      // The damaged blob does, in both snapshots, and only f2.
      const b = report.problems.find((x) => x.object === `blob ${blobId}`)!;
      expect(b).toMatchObject({ kind: 'blob', code: 'AUTH_FAILED' });
      expect(b.snapshots.sort()).toEqual([first!.id, second!.id].sort());
      expect(b.paths.sort()).toEqual([`${first!.id.slice(0, 8)}:${f2}`, `${second!.id.slice(0, 8)}:${f2}`].sort());
      expect(b.hint).toMatch(/repair index --read-data/);
    }

    // A restore of the damaged snapshot restores everything else and lists the loss.
    const out = join(base, 'out');
    const r = await restore(repo, second!.id, { target: out });
    expect(r.failures.map((f) => f.path)).toEqual([f2]);
    expect(files(join(out, src)).length).toBe(7);

    const repaired = await repairSnapshots(repo, { dryRun: true });
    expect(repaired.repaired.map((x) => x.dropped)).toEqual([[f2], [f2]]);
    const saved = await repairSnapshots(repo);
    expect(saved.repaired).toHaveLength(2);
    const snaps = await listSnapshots(repo);
    expect(snaps).toHaveLength(4);
    const latest = snaps.at(-1)!;
    expect(latest.original).toBe(second!.id);
    expect(latest.tags).toContain('repaired');
    const out2 = join(base, 'out2');
    const r2 = await restore(repo, 'latest', { target: out2 });
    expect(r2.failures).toEqual([]);
    expect(files(join(out2, src)).length).toBe(7);
    await repo.close();
  });

  it('repair index --read-data leaves a damaged blob out, so a full backup stores it again and old snapshots heal', async () => {
    const { repo, base, src } = await fixture();
    const [first, second] = await listSnapshots(repo);
    const f2 = join(src, 'd', 'f2');
    const { node } = await findPath(repo, first!.tree, f2);
    const loc = await repo.locate(node!.content![0]!);
    const file = packFile(base, loc.packId);
    const bytes = readFileSync(file);
    bytes[loc.offset + 100] = bytes[loc.offset + 100]! ^ 1;
    writeFileSync(file, bytes);

    // Without --read-data the damaged blob stays indexed and a backup deduplicates against it.
    await backup(repo, { paths: [src], kind: 'full' });
    const stuck = await restore(repo, 'latest', { target: join(base, 'stuck') });
    expect(stuck.failures.map((f) => [f.path, f.code])).toEqual([[f2, 'AUTH_FAILED']]);

    const fixed = await repairIndex(repo, { readData: true });
    expect(fixed.damagedPacks).toEqual([]);
    expect(fixed.damagedBlobCount).toBe(1);
    expect(fixed.damagedBlobs).toEqual([
      expect.objectContaining({ packId: loc.packId, blobId: node!.content![0]!, code: 'AUTH_FAILED' }),
    ]);
    const healed = await backup(repo, { paths: [src], kind: 'full' });
    expect(healed.bytes.added).toBeGreaterThan(0);
    for (const s of [first!, second!]) {
      const out = join(base, `healed-${s.id.slice(0, 8)}`);
      const r = await restore(repo, s.id, { target: out });
      expect(r.failures).toEqual([]);
      expect(readFileSync(join(out, f2)).equals(readFileSync(f2))).toBe(true);
    }
    // verify still reports the damaged pack, but no snapshot depends on it any more.
    const report = await verify(repo, { readData: true });
    expect(report.problems.flatMap((p) => p.paths)).toEqual([]);
    expect(report.problems.map((p) => p.kind).sort()).toEqual(['blob', 'pack']);
    await repo.close();
  });

  it('detects a truncated pack and a missing pack', async () => {
    const { repo, base, src } = await fixture();
    const [first] = await listSnapshots(repo);
    const truncated = await packOf(repo, first!.tree, join(src, 'd', 'f0'));
    truncateSync(packFile(base, truncated), 1000);
    const missing = await packOf(repo, first!.tree, join(src, 'd', 'f4'));
    rmSync(packFile(base, missing));
    const report = await verify(repo);
    expect(report.ok).toBe(false);
    const objects = report.problems.map((p) => `${p.kind} ${p.code}`);
    expect(objects).toContain('blob NOT_FOUND'); // entries pointing into the missing pack
    expect(objects).toContain('blob CORRUPT_DATA'); // entries beyond the truncated pack's end
    const paths = report.problems.flatMap((p) => p.paths);
    expect(paths.some((x) => x.endsWith(join(src, 'd', 'f0')))).toBe(true);
    expect(paths.some((x) => x.endsWith(join(src, 'd', 'f4')))).toBe(true);
    await repo.close();
  });

  it('detects a missing index segment, and repair index rebuilds it from the packs', async () => {
    const { repo, base } = await fixture();
    await repo.close();
    const indexDir = join(base, 'repo', 'index');
    for (const f of readdirSync(indexDir)) rmSync(join(indexDir, f));
    const again = await reopen(base);
    const report = await verify(again);
    expect(report.ok).toBe(false);
    expect(report.unindexedPacks.length).toBeGreaterThan(0);
    const missing = report.problems.find((p) => p.code === 'NOT_FOUND')!;
    expect(missing.hint).toMatch(/repair index/);
    const fixed = await repairIndex(again);
    expect(fixed.damagedPacks).toEqual([]);
    expect((await verify(again, { readData: true })).ok).toBe(true);
    await again.close();
  });

  it('detects a damaged snapshot, index segment and key file without crashing', async () => {
    const { repo, base } = await fixture();
    await repo.addKey('spare password', FAST_KDF);
    const [first] = await listSnapshots(repo);
    const snapFile = join(base, 'repo', 'snapshots', first!.id);
    const s = readFileSync(snapFile);
    s[s.length - 5] = s[s.length - 5]! ^ 0xff;
    writeFileSync(snapFile, s);
    const seg = join(base, 'repo', 'index', readdirSync(join(base, 'repo', 'index'))[0]!);
    writeFileSync(seg, Buffer.concat([readFileSync(seg), Buffer.from('junk')]));
    const keyFile = join(base, 'repo', 'keys', repo.keyId);
    writeFileSync(keyFile, readFileSync(keyFile).subarray(0, 50));
    await repo.close();

    const again = await Repository.open(new DiskStore(join(base, 'repo')), {
      password: 'spare password',
      cacheDir: join(base, 'cache'),
    });
    const report = await verify(again);
    const kinds = report.problems.map((p) => p.kind);
    expect(kinds).toContain('snapshot');
    expect(kinds).toContain('index');
    expect(kinds).toContain('key');
    expect(report.problems.find((p) => p.kind === 'snapshot')!.object).toBe(`snapshots/${first!.id}`);
    // Statistics and repair say that a snapshot could not be read, rather than skip it quietly.
    const stats = await repositoryStats(again);
    expect(stats).toMatchObject({ snapshots: 1, unreadableSnapshots: 1 });
    const repair = await repairSnapshots(again, { dryRun: true });
    expect(repair.unreadable).toEqual([expect.objectContaining({ id: first!.id, code: 'CORRUPT_DATA' })]);
    await again.close();
    // The damaged key alone no longer opens the repository: a clear, typed error.
    await expect(Repository.open(new DiskStore(join(base, 'repo')), { password: PASSWORD })).rejects.toMatchObject({
      code: 'WRONG_PASSWORD',
    });
  });

  it('a backup whose segment merge is cut short still succeeds and leaves a sound repository', async () => {
    const { base } = await newRepo(undefined, { packSize: 1024 * 1024 });
    const src = join(base, 'src');
    mkdirSync(src);
    for (let i = 0; i < 5; i++) writeFileSync(join(src, `f${i}`), seededBytes(1536 * 1024, 700 + i));
    // The merged segment is stored, then the second delete of a merged part fails (a crash there
    // looks the same to the next reader): the parts left behind list what the merged one lists.
    const disk = new DiskStore(join(base, 'repo'));
    let indexDeletes = 0;
    const store = Object.create(disk) as DiskStore;
    store.delete = async (name, options) => {
      if (name.startsWith('index/') && ++indexDeletes === 2) throw new Error('power cut');
      return disk.delete(name, options);
    };
    const repo = await Repository.open(store, { password: PASSWORD, cacheDir: join(base, 'cache') });
    const first = await backup(repo, { paths: [src] });
    expect(indexDeletes).toBeGreaterThanOrEqual(2);
    expect(readdirSync(join(base, 'repo', 'index')).length).toBeGreaterThan(1);
    await repo.close();

    const again = await reopen(base);
    expect((await verify(again, { readData: true })).problems).toEqual([]);
    writeFileSync(join(src, 'f0'), seededBytes(1536 * 1024, 799));
    const second = await backup(again, { paths: [src] });
    expect(second.bytes.added).toBeLessThan(2 * 1024 * 1024);
    const out = join(base, 'out');
    expect((await restore(again, first.snapshotId, { target: out })).failures).toEqual([]);
    expect(readFileSync(join(out, src, 'f3'))).toEqual(seededBytes(1536 * 1024, 703));
    await again.close();
  });

  it('a damaged config is a typed error, never a crash', async () => {
    const { repo, base } = await fixture();
    await repo.close();
    const config = join(base, 'repo', 'config');
    const c = readFileSync(config);
    c[20] = c[20]! ^ 0x01;
    writeFileSync(config, c);
    await expect(reopen(base)).rejects.toMatchObject({ code: 'AUTH_FAILED' });
    writeFileSync(config, Buffer.from('not a config'));
    await expect(reopen(base)).rejects.toMatchObject({ code: 'CORRUPT_DATA' });
  });
});

describe('snapshot statistics', () => {
  it('count a blob that a file repeats (zeros) once', async () => {
    const { repo, base } = await newRepo();
    const src = join(base, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'zeros'), Buffer.alloc(24 * 1024 * 1024));
    writeFileSync(join(src, 'zeros-too'), Buffer.alloc(8 * 1024 * 1024));
    const done = await backup(repo, { paths: [src] });
    const [snap] = await listSnapshots(repo);
    const s = await snapshotStats(repo, snap!);
    const repoStats = await repositoryStats(repo);
    expect(s.totalBytes).toBe(32 * 1024 * 1024);
    expect(s.uniqueBlobs).toBe(repoStats.dataBlobs);
    expect(s.uniqueBytes).toBe(repoStats.uniqueBytes);
    expect(s.uniqueBytes).toBe(done.bytes.added);
    expect(s.uniqueBytes).toBeLessThan(16 * 1024 * 1024);
    await repo.close();
  });
});
