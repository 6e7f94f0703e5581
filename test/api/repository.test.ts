import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { backup, findPath, listLocks, listSnapshots, Repository, removeLocks, restore, verify } from '@cairn/core';
import { DiskStore } from '@cairn/store-disk';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, FAST_KDF, newRepo, PASSWORD, reopen } from './helpers.js';
import { compareTrees, describeTree, seededBytes } from './tree-fixtures.js';

afterAll(cleanup);
const run = promisify(execFile);

describe('repository', () => {
  it('init refuses an existing repository; open tells a missing one from a wrong password', async () => {
    const { base, store } = await newRepo();
    await expect(Repository.init(store, { password: 'x', ...FAST_KDF })).rejects.toMatchObject({ code: 'REPO_EXISTS' });
    await expect(Repository.open(new DiskStore(join(base, 'nothing')), { password: PASSWORD })).rejects.toMatchObject({
      code: 'REPO_NOT_FOUND',
    });
    const t0 = Date.now();
    await expect(Repository.open(store, { password: 'wrong' })).rejects.toMatchObject({ code: 'WRONG_PASSWORD' });
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('calls onKeyDerivation as the derivation for each key file tried starts, before the open resolves', async () => {
    const { repo, base, store } = await newRepo();
    await repo.addKey('second password', FAST_KDF);
    let calls = 0;
    let settled = false;
    const opening = Repository.open(store, {
      password: PASSWORD,
      cacheDir: join(base, 'cache'),
      onKeyDerivation: () => {
        calls++;
        expect(settled).toBe(false);
      },
    }).finally(() => {
      settled = true;
    });
    expect((await opening).id).toBe(repo.id);
    // Key files are tried in turn: one derivation for the right one, or two when the other comes first.
    expect(calls).toBeGreaterThanOrEqual(1);
    expect(calls).toBeLessThanOrEqual(2);
    calls = 0;
    await expect(Repository.open(store, { password: 'wrong', onKeyDerivation: () => calls++ })).rejects.toMatchObject({
      code: 'WRONG_PASSWORD',
    });
    expect(calls).toBe(2);
    await repo.close();
  });

  it('manages several keys: add, list, change, remove, never the last one', async () => {
    const { repo, base } = await newRepo();
    const second = await repo.addKey('second password', FAST_KDF);
    const keys = await repo.listKeys();
    expect(keys).toHaveLength(2);
    expect(keys.filter((k) => k.current)).toHaveLength(1);
    expect(keys.every((k) => k.host === hostname() && k.created)).toBe(true);

    const store = new DiskStore(join(base, 'repo'));
    const viaSecond = await Repository.open(store, { password: 'second password', cacheDir: join(base, 'cache') });
    expect(viaSecond.id).toBe(repo.id);
    expect(viaSecond.keyId).toBe(second);

    // The session's own key cannot be removed; another one can; the last one never.
    await expect(viaSecond.removeKey(second)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await viaSecond.removeKey(repo.keyId.slice(0, 12));
    await expect(Repository.open(store, { password: PASSWORD })).rejects.toMatchObject({ code: 'WRONG_PASSWORD' });
    expect(await viaSecond.listKeys()).toHaveLength(1);

    const newId = await viaSecond.changePassword('third password', FAST_KDF);
    expect(await viaSecond.listKeys()).toEqual([expect.objectContaining({ id: newId, current: true })]);
    await expect(Repository.open(store, { password: 'second password' })).rejects.toMatchObject({
      code: 'WRONG_PASSWORD',
    });
    const third = await Repository.open(store, { password: 'third password', cacheDir: join(base, 'cache') });
    await expect(third.removeKey(newId)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await third.addKey('fourth', FAST_KDF);
    const fourth = await Repository.open(store, { password: 'fourth', cacheDir: join(base, 'cache') });
    await fourth.removeKey(newId);
    await expect(fourth.removeKey(fourth.keyId)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });

    // Removing or changing keys takes the exclusive lock: not while another session holds a lock.
    const spare = await fourth.addKey('spare', FAST_KDF);
    const held = await third.lock({ exclusive: false, operation: 'backup' });
    const before = (await fourth.listKeys()).map((k) => k.id).sort();
    await expect(fourth.removeKey(spare)).rejects.toMatchObject({ code: 'LOCKED' });
    await expect(fourth.changePassword('fifth', FAST_KDF)).rejects.toMatchObject({ code: 'LOCKED' });
    expect((await fourth.listKeys()).map((k) => k.id).sort()).toEqual(before);
    await held.release();
    await fourth.removeKey(spare);
    expect(await fourth.listKeys()).toHaveLength(1);
    await repo.close();
  });

  it('locks: exclusive blocks others with a clear holder, stale locks are detected and removable', async () => {
    const { repo } = await newRepo();
    const exclusive = await repo.lock({ exclusive: true, operation: 'prune' });
    const err = await repo.lock({ exclusive: false, operation: 'backup' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'LOCKED' });
    expect((err as Error).message).toMatch(/exclusive lock by .*@.* pid \d+ \(prune\)/);
    await exclusive.release();

    const shared1 = await repo.lock({ exclusive: false, operation: 'backup' });
    const shared2 = await repo.lock({ exclusive: false, operation: 'backup' });
    await expect(repo.lock({ exclusive: true, operation: 'prune' })).rejects.toMatchObject({ code: 'LOCKED' });
    await shared1.release();
    await shared2.release();
    expect(await listLocks(repo.store, repo.keys.dataKey)).toEqual([]);

    // A lock left by a dead process on this host is stale: it blocks nobody and unlock removes it.
    const child = await run(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    const deadPid = Number(child.stdout);
    const { sealJson } = await import('./seal.js');
    await repo.store.put(
      `locks/${'ab'.repeat(32)}`,
      sealJson(repo.keys.dataKey, {
        v: 1,
        exclusive: true,
        host: hostname(),
        pid: deadPid,
        user: 'x',
        time: new Date().toISOString(),
        operation: 'backup',
      }),
    );
    const found = await listLocks(repo.store, repo.keys.dataKey);
    expect(found).toEqual([expect.objectContaining({ stale: true })]);
    const l = await repo.lock({ exclusive: true, operation: 'check' });
    await l.release();
    expect((await removeLocks(repo.store, repo.keys.dataKey)).length).toBe(1);
    expect(await listLocks(repo.store, repo.keys.dataKey)).toEqual([]);
    await repo.close();
  });

  it('two backups from two processes at the same time both succeed and both restore exactly', async () => {
    const { repo, base } = await newRepo();
    await repo.close();
    const trees = ['a', 'b'].map((n, i) => {
      const dir = join(base, `src-${n}`);
      mkdirSync(dir);
      for (let j = 0; j < 6; j++) writeFileSync(join(dir, `f${j}`), seededBytes(8 * 1024 * 1024, 1000 * (i + 1) + j));
      // some data shared by both trees
      writeFileSync(join(dir, 'shared'), seededBytes(6 * 1024 * 1024, 5));
      return dir;
    });
    const child = join(import.meta.dirname, 'fixtures', 'backup-child.mjs');
    const results = await Promise.all(
      trees.map((t) =>
        run(process.execPath, [child, join(base, 'repo'), join(base, 'cache'), t, PASSWORD], {
          cwd: import.meta.dirname,
        }),
      ),
    );
    const summaries = results.map((r) => JSON.parse(r.stdout) as { snapshotId: string });
    expect(new Set(summaries.map((s) => s.snapshotId)).size).toBe(2);
    // Each backup checkpointed after every pack, then merged its own segments into one.
    expect(readdirSync(join(base, 'repo', 'index'))).toHaveLength(2);
    const again = await reopen(base);
    const report = await verify(again, { readData: true });
    expect(report.problems).toEqual([]);
    expect((await listSnapshots(again)).length).toBe(2);
    for (const [i, t] of trees.entries()) {
      const out = join(base, `out-${i}`);
      const r = await restore(again, summaries[i]!.snapshotId, { target: out });
      expect(r.failures).toEqual([]);
      expect(compareTrees(describeTree(t), describeTree(join(out, t)))).toEqual([]);
    }
    expect(readdirSync(join(base, 'repo', 'locks'))).toEqual([]);
    // The private cache a busy shared cache forces is removed afterwards.
    expect(readdirSync(join(base, 'cache', again.id)).filter((n) => n.startsWith('index-'))).toEqual([]);
    await again.close();
  });

  it('two backups at once through one Repository object both succeed, verify and restore exactly', async () => {
    const { repo, base } = await newRepo(undefined, { packSize: 1024 * 1024 });
    const trees = ['x', 'y'].map((n, i) => {
      const dir = join(base, `src-${n}`);
      mkdirSync(join(dir, 'sub'), { recursive: true });
      for (let j = 0; j < 5; j++) writeFileSync(join(dir, 'sub', `f${j}`), seededBytes(1536 * 1024, 50 * (i + 1) + j));
      writeFileSync(join(dir, 'shared'), seededBytes(2 * 1024 * 1024, 77));
      return dir;
    });
    const [a, b] = await Promise.all(trees.map((t) => backup(repo, { paths: [t] })));
    expect(a!.snapshotId).not.toBe(b!.snapshotId);
    expect((await verify(repo, { readData: true })).problems).toEqual([]);
    await repo.close();
    const again = await reopen(base);
    expect((await verify(again, { readData: true })).problems).toEqual([]);
    for (const [i, t] of trees.entries()) {
      const out = join(base, `out-${i}`);
      const r = await restore(again, [a, b][i]!.snapshotId, { target: out });
      expect(r.failures).toEqual([]);
      expect(compareTrees(describeTree(t), describeTree(join(out, t)))).toEqual([]);
    }
    await again.close();
  });

  it('deleting the local cache only costs a rebuild', async () => {
    const { repo, base } = await newRepo();
    const src = join(base, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'f'), seededBytes(5 * 1024 * 1024, 9));
    await backup(repo, { paths: [src] });
    await repo.close();
    rmSync(join(base, 'cache'), { recursive: true, force: true });
    const again = await reopen(base);
    const second = await backup(again, { paths: [src], kind: 'full' });
    expect(second.bytes.added).toBe(0);
    const out = join(base, 'out');
    await restore(again, 'latest', { target: out });
    expect(compareTrees(describeTree(src), describeTree(join(out, src)))).toEqual([]);
    await again.close();
  });

  it('restores what is intact from a damaged snapshot and lists what is not', async () => {
    const { repo, base } = await newRepo(undefined, { packSize: 1024 * 1024 });
    const src = join(base, 'src');
    mkdirSync(src);
    for (let i = 0; i < 4; i++) writeFileSync(join(src, `f${i}`), seededBytes(2 * 1024 * 1024, 50 + i));
    await backup(repo, { paths: [src] });
    // Remove one data pack.
    const { node } = await findPath(repo, (await listSnapshots(repo))[0]!.tree, join(src, 'f2'));
    const loc = await repo.locate(node!.content![0]!);
    const packDir = join(base, 'repo', 'data', loc!.packId.slice(0, 2));
    rmSync(join(packDir, loc!.packId));
    const out = join(base, 'out');
    const r = await restore(repo, 'latest', { target: out });
    expect(r.failures.map((f) => f.path)).toContain(join(src, 'f2'));
    expect(r.files.restored).toBeGreaterThanOrEqual(1);
    expect(readdirSync(join(out, src)).filter((n) => !n.startsWith('.'))).not.toContain('f2');
    await repo.close();
  });
});
