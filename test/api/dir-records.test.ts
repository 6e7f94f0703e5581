/**
 * Directory records (packages/core/src/backup/dir-records.ts): an incremental backup passes over
 * directories that are as its parent's run recorded them without loading their parent trees, and
 * still finds every change, counts against the right parent, and never trusts a record it cannot.
 */
import { chmodSync, mkdirSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { backup, CairnError, type PutOptions, Repository, restore } from '@cairn/core';
import { DiskStore } from '@cairn/store-disk';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { cleanup, newRepo, PASSWORD, reopen } from './helpers.js';
import { compareTrees, describeTree, makeEdgeCaseTree, seededBytes } from './tree-fixtures.js';

afterAll(cleanup);

/** A tree of 3 × 3 × 3 directories (39 with the inner ones), each holding two small files. */
function makeNested(src: string): number {
  let dirs = 0;
  const walk = (dir: string, depth: number) => {
    mkdirSync(dir, { recursive: true });
    dirs++;
    writeFileSync(join(dir, 'a.txt'), `a in ${dir}\n`);
    writeFileSync(join(dir, 'b.bin'), seededBytes(3000 + depth, dirs));
    if (depth < 3) for (const d of ['x', 'y', 'z']) walk(join(dir, d), depth + 1);
  };
  walk(src, 0);
  return dirs;
}

/**
 * The tree id of `src` in a snapshot. (The root tree also holds the directories above it, whose
 * times change as tests create and delete folders beside it.)
 */
async function treeOf(repo: Repository, rootTree: string, src: string): Promise<string> {
  let id = rootTree;
  for (const part of src.split('/').filter(Boolean)) {
    const node = (await repo.loadTree(id)).nodes.find((n) => Buffer.from(n.name).toString() === part);
    id = node!.subtree!;
  }
  return id;
}

/** Restores a snapshot through a fresh session (no failures allowed); returns what `src` became. */
async function restored(base: string, snapshotId: string, src: string) {
  const session = await reopen(base);
  const out = join(base, `out-${snapshotId.slice(0, 8)}`);
  const r = await restore(session, snapshotId, { target: out });
  await session.close();
  expect(r.failures).toEqual([]);
  return describeTree(join(out, src));
}

/** Backs up `src` through a fresh session, counting parent trees loaded; `tree`: that of `src`. */
async function backupCounting(base: string, src: string, options: Parameters<typeof backup>[1] = {}) {
  const repo: Repository = await reopen(base);
  const loads = vi.spyOn(repo, 'loadTree');
  const summary = await backup(repo, { paths: [src], ...options });
  const treesLoaded = loads.mock.calls.length;
  const tree = await treeOf(repo, summary.snapshot.tree, src);
  await repo.close();
  return { summary, treesLoaded, tree };
}

describe('directory records', () => {
  it('pass over unchanged directories without loading their parent trees, to the same tree', async () => {
    const { repo, base, cacheDir } = await newRepo();
    const src = join(base, 'src');
    const dirs = makeNested(src);
    const first = await backup(repo, { paths: [src] });
    const firstTree = await treeOf(repo, first.snapshot.tree, src);
    await repo.close();

    const second = await backupCounting(base, src);
    expect(second.summary.files).toEqual({ new: 0, changed: 0, unchanged: 2 * dirs });
    expect(second.summary.dirs).toBe(dirs);
    expect(second.tree).toBe(firstTree);
    // Only the directories above the source path (not recorded) are loaded.
    const above = src.split('/').filter(Boolean).length;
    expect(second.treesLoaded).toBeLessThanOrEqual(above);

    // Without records (the cache deleted, so rebuilt from the repository) every tree is loaded.
    rmSync(cacheDir, { recursive: true, force: true });
    const third = await backupCounting(base, src);
    expect(third.treesLoaded).toBeGreaterThanOrEqual(dirs);
    expect(third.tree).toBe(firstTree);
    expect(third.summary.files.unchanged).toBe(2 * dirs);

    // And a `full` backup, which uses no record, builds that same tree.
    const full = await backupCounting(base, src, { kind: 'full' });
    expect(full.tree).toBe(firstTree);
    expect(full.summary.bytes.read).toBeGreaterThan(0);
  });

  it('find every change below recorded directories, and the restore is exact', async () => {
    const { repo, base } = await newRepo();
    const src = join(base, 'src');
    makeNested(src);
    await backup(repo, { paths: [src] });
    await repo.close();

    // Changes deep down, each in a different kind of way.
    writeFileSync(join(src, 'x/y/z/a.txt'), 'rewritten, longer than before\n');
    writeFileSync(join(src, 'y/z/new.txt'), 'a new file\n');
    rmSync(join(src, 'z/x'), { recursive: true });
    renameSync(join(src, 'x/x/x'), join(src, 'x/x/moved'));
    chmodSync(join(src, 'y/y/b.bin'), 0o600);
    symlinkSync('../a.txt', join(src, 'z/z/z/link'));
    mkdirSync(join(src, 'x/z/empty'));
    // Same size, new mtime: read again (and found to have the same content).
    utimesSync(join(src, 'y/a.txt'), new Date(2020, 1, 1), new Date(2020, 1, 1));

    const changed = await backupCounting(base, src);
    expect(changed.summary.errors).toBe(0);
    // new.txt and the two files of the moved directory are new; the rewritten file changed; the
    // chmod'ed and the re-timed file were read again with the same content.
    expect(changed.summary.files.new).toBe(3);
    expect(changed.summary.files.changed).toBe(1);
    expect(compareTrees(describeTree(src), await restored(base, changed.summary.snapshotId, src))).toEqual([]);

    // The next backup has nothing to do, and the full one agrees on the tree.
    const next = await backupCounting(base, src);
    expect(next.summary.files.new + next.summary.files.changed).toBe(0);
    expect(next.tree).toBe(changed.tree);
    const full = await backupCounting(base, src, { kind: 'full' });
    expect(full.tree).toBe(changed.tree);
  });

  it('reproduce every edge case exactly when a whole tree is passed over', async () => {
    const { repo, base } = await newRepo();
    const src = join(base, 'src');
    makeEdgeCaseTree(src, { bigSize: 3 * 1024 * 1024 });
    const first = await backup(repo, { paths: [src] });
    const firstTree = await treeOf(repo, first.snapshot.tree, src);
    await repo.close();
    const again = await backupCounting(base, src);
    expect(again.summary.files.new + again.summary.files.changed).toBe(0);
    expect(again.tree).toBe(firstTree);
    expect(again.treesLoaded).toBeLessThanOrEqual(src.split('/').filter(Boolean).length);
    expect(compareTrees(describeTree(src), await restored(base, again.summary.snapshotId, src))).toEqual([]);
  });

  it('follow changed excludes: newly excluded entries leave the snapshot, newly included ones enter it', async () => {
    const { repo, base } = await newRepo();
    const src = join(base, 'src');
    makeNested(src);
    writeFileSync(join(src, 'x/y/scratch.tmp'), 'temporary\n');
    mkdirSync(join(src, 'z/cache'));
    writeFileSync(join(src, 'z/cache/blob'), 'cached\n');
    await backup(repo, { paths: [src], excludes: ['*.tmp'] });
    await repo.close();

    const narrower = await backupCounting(base, src, { excludes: ['*.tmp', `${src}/z/cache`] });
    const wider = await backupCounting(base, src, { excludes: [] });
    const a = [...(await restored(base, narrower.summary.snapshotId, src)).keys()].map((k) =>
      Buffer.from(k, 'hex').toString(),
    );
    expect(a.filter((k) => k.includes('scratch.tmp') || k.includes('z/cache'))).toEqual([]);
    expect(a).toContain('z/z/a.txt');
    expect(compareTrees(describeTree(src), await restored(base, wider.summary.snapshotId, src))).toEqual([]);
    expect(wider.summary.files.new).toBe(2); // scratch.tmp and z/cache/blob
  });

  it('are trusted only from the parent snapshot’s run and the runs whose records it kept', async () => {
    const { repo, base } = await newRepo();
    const src = join(base, 'src');
    makeNested(src);
    const first = await backup(repo, { paths: [src] });
    await repo.close();
    writeFileSync(join(src, 'z/y/x/a.txt'), 'changed once, a different length\n');
    const second = await backupCounting(base, src);
    expect(second.summary.files.changed).toBe(1);

    // With the first snapshot as parent, the records the second run wrote (for the directories it
    // found changed) do not apply: counted against the first snapshot, the file changed (records
    // trusted blindly would count it unchanged). The first run's records, which the second kept
    // for the directories it found unchanged, still hold: the walk loads the same parent trees as
    // the second run did, those of the changed directories.
    const third = await backupCounting(base, src, { parent: first.snapshotId });
    expect(third.summary.parent).toBe(first.snapshotId);
    expect(third.summary.files.changed).toBe(1);
    expect(third.tree).toBe(second.tree);
    expect(third.treesLoaded).toBe(second.treesLoaded);
    expect(third.treesLoaded).toBeGreaterThanOrEqual(4); // src, z, z/y and z/y/x at least

    // A differential backup (parent: the last full one) is counted against that full snapshot.
    const full = await backupCounting(base, src, { kind: 'full' });
    writeFileSync(join(src, 'x/a.txt'), 'after the full one, longer\n');
    await backupCounting(base, src);
    const diff = await backupCounting(base, src, { kind: 'differential' });
    expect(diff.summary.parent).toBe(full.summary.snapshotId);
    expect(diff.summary.files.changed).toBe(1);
  });

  it('of a run that stored no snapshot are not trusted', async () => {
    const { repo, base } = await newRepo();
    const src = join(base, 'src');
    // More directories than one batch of records, so the failing run below writes some.
    for (let i = 0; i < 1100; i++) {
      mkdirSync(join(src, `d${i}`), { recursive: true });
      writeFileSync(join(src, `d${i}`, 'a.txt'), `file ${i}\n`);
    }
    const first = await backup(repo, { paths: [src] });
    const firstTree = await treeOf(repo, first.snapshot.tree, src);
    await repo.close();
    const changedDirs = [];
    for (let i = 0; i < 1100; i += 20) {
      writeFileSync(join(src, `d${i}`, 'a.txt'), `file ${i}, changed and longer\n`);
      changedDirs.push(i);
    }

    // A run that fails when it stores its snapshot (an injected fault), after walking everything.
    // `full`, so it reads every file and records directories in walk order (an incremental run
    // would finish the changed directories last, their records still queued when it fails).
    class NoSnapshots extends DiskStore {
      override async put(name: string, data: Uint8Array | AsyncIterable<Uint8Array>, options?: PutOptions) {
        if (name.startsWith('snapshots/')) throw new CairnError('IO_ERROR', 'injected: snapshot not stored');
        return super.put(name, data, options);
      }
    }
    const failing = await Repository.open(new NoSnapshots(join(base, 'repo')), {
      password: PASSWORD,
      cacheDir: join(base, 'cache'),
    });
    await expect(backup(failing, { paths: [src], kind: 'full' })).rejects.toMatchObject({ code: 'IO_ERROR' });
    await failing.close();

    // Its records describe the changed files exactly, but the parent is still the first snapshot:
    // trusted, they would make the walk reuse the first snapshot's (old) trees.
    const next = await backupCounting(base, src);
    expect(next.summary.parent).toBe(first.snapshotId);
    expect(next.summary.files.changed).toBe(changedDirs.length);
    expect(next.tree).not.toBe(firstTree);
    expect(compareTrees(describeTree(src), await restored(base, next.summary.snapshotId, src))).toEqual([]);
  });
});
