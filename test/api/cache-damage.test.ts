/**
 * Damage the index works around: a damaged index segment is left out (and `repair index` replaces
 * it), a damaged local cache is rebuilt, an unwritable cache folder is replaced by a temporary one.
 * Nothing of it may make a restore wrong.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backup, Repository, type RepositoryWarning, repairIndex, restore, verify } from '@cairn/core';
import { DiskStore } from '@cairn/store-disk';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, newRepo, PASSWORD } from './helpers.js';
import { seededBytes } from './tree-fixtures.js';

afterAll(cleanup);

function open(base: string, cacheDir: string, warnings: RepositoryWarning[]): Promise<Repository> {
  return Repository.open(new DiskStore(join(base, 'repo')), {
    password: PASSWORD,
    cacheDir,
    onWarning: (w) => warnings.push(w),
  });
}

function segments(base: string): string[] {
  return readdirSync(join(base, 'repo', 'index')).filter((n) => /^[0-9a-f]{64}$/.test(n));
}

/** Flips bytes all through a file (as a failing disk would). */
function garble(path: string): void {
  const bytes = readFileSync(path);
  for (let i = 0; i < bytes.length; i += 97) bytes[i]! ^= 0x5a;
  writeFileSync(path, bytes);
}

/** Two snapshots, each with its own index segment. */
async function twoSnapshots() {
  const { repo, base } = await newRepo();
  const a = join(base, 'a');
  const b = join(base, 'b');
  mkdirSync(a);
  mkdirSync(b);
  for (let i = 0; i < 4; i++) writeFileSync(join(a, `f${i}`), seededBytes(200_000, 40 + i));
  for (let i = 0; i < 3; i++) writeFileSync(join(b, `g${i}`), seededBytes(150_000, 60 + i));
  const first = await backup(repo, { paths: [a] });
  await repo.close();
  const segA = segments(base);
  // A second session (a session merges its own segments).
  const repo2 = await open(base, join(base, 'cache'), []);
  const second = await backup(repo2, { paths: [b] });
  await repo2.close();
  const segB = segments(base).filter((s) => !segA.includes(s));
  expect(segA).toHaveLength(1);
  expect(segB).toHaveLength(1);
  return { base, a, b, first: first.snapshotId, second: second.snapshotId, segA: segA[0]!, segB: segB[0]! };
}

function sameFiles(src: string, out: string): void {
  for (const name of readdirSync(src))
    expect(readFileSync(join(out, src, name))).toEqual(readFileSync(join(src, name)));
}

describe('a damaged index segment', () => {
  it('is left out with a warning, reported by verify, and replaced by repair index', async () => {
    const s = await twoSnapshots();
    garble(join(s.base, 'repo', 'index', s.segA));

    // A cold cache: the other snapshot still restores; the damage is named.
    const warnings: RepositoryWarning[] = [];
    const repo = await open(s.base, join(s.base, 'cold-cache'), warnings);
    const outB = join(s.base, 'out-b');
    const restored = await restore(repo, s.second, { target: outB });
    expect(restored.files.failed).toBe(0);
    sameFiles(s.b, outB);
    expect(warnings).toEqual([expect.objectContaining({ code: 'INDEX_SEGMENT_DAMAGED', object: `index/${s.segA}` })]);
    expect(warnings[0]!.message).toMatch(/repair index/);

    const report = await verify(repo);
    expect(report.ok).toBe(false);
    expect(report.problems).toContainEqual(
      expect.objectContaining({ kind: 'index', object: `index/${s.segA}`, code: 'CORRUPT_DATA' }),
    );
    // The message does not repeat the object's name.
    expect(report.problems.find((p) => p.kind === 'index')!.message).not.toContain(s.segA);

    const repaired = await repairIndex(repo);
    expect(repaired.segmentsRemoved).toBe(2);
    expect((await verify(repo, { readData: true })).problems).toEqual([]);
    const outA = join(s.base, 'out-a');
    expect((await restore(repo, s.first, { target: outA })).files.failed).toBe(0);
    sameFiles(s.a, outA);
    await repo.close();
  });
});

describe('the local index cache', () => {
  it('is rebuilt when its files are damaged', async () => {
    const s = await twoSnapshots();
    const cacheDir = join(s.base, 'cache');
    // Reopen a few times so LevelDB writes its log into a table file.
    for (let i = 0; i < 3; i++) await (await open(s.base, cacheDir, [])).index().then((x) => x.close());
    const dir = readdirSync(cacheDir).find((n) => /^[0-9a-f]{64}$/.test(n))!;
    const files = readdirSync(join(cacheDir, dir, 'index')).filter((n) => /\.(ldb|log)$/.test(n));
    expect(files.some((n) => n.endsWith('.ldb'))).toBe(true);
    for (const f of files) garble(join(cacheDir, dir, 'index', f));

    const warnings: RepositoryWarning[] = [];
    const repo = await open(s.base, cacheDir, warnings);
    const out = join(s.base, 'out');
    expect((await restore(repo, s.first, { target: out })).files.failed).toBe(0);
    sameFiles(s.a, out);
    expect(warnings).toEqual([expect.objectContaining({ code: 'CACHE_REBUILT' })]);
    expect(warnings[0]!.message).toMatch(/Corruption/);
    await repo.close();

    // Rebuilt for good: the next session has nothing to warn about.
    const again: RepositoryWarning[] = [];
    const repo2 = await open(s.base, cacheDir, again);
    expect((await verify(repo2)).problems).toEqual([]);
    await repo2.close();
    expect(again).toEqual([]);
  });

  it('that cannot be written (a file in the way) is replaced by a temporary one', async () => {
    const s = await twoSnapshots();
    const blocked = join(s.base, 'not-a-folder');
    writeFileSync(blocked, 'x');
    const before = readdirSync(tmpdir()).filter((n) => n.startsWith('cairn-cache-'));
    const warnings: RepositoryWarning[] = [];
    const repo = await open(s.base, blocked, warnings);
    const out = join(s.base, 'out');
    expect((await restore(repo, s.second, { target: out })).files.failed).toBe(0);
    sameFiles(s.b, out);
    expect((await verify(repo)).problems).toEqual([]);
    expect(warnings).toEqual([
      expect.objectContaining({ code: 'CACHE_UNUSABLE', object: expect.stringContaining(blocked) }),
    ]);
    const temp = /using a temporary cache in (\S+)/.exec(warnings[0]!.message)![1]!;
    expect(existsSync(temp)).toBe(true);
    await repo.close();
    expect(existsSync(temp)).toBe(false);
    expect(readdirSync(tmpdir()).filter((n) => n.startsWith('cairn-cache-'))).toEqual(before);
  });
});

describe('repair index', () => {
  it('removes temporary files killed writers left, once they are old enough to be nobody’s', async () => {
    const s = await twoSnapshots();
    const dataDir = join(s.base, 'repo', 'data');
    const fan = readdirSync(dataDir)[0]!;
    const stale = join(dataDir, fan, '.tmp-0123456789abcdef');
    const fresh = join(dataDir, fan, '.tmp-fedcba9876543210');
    writeFileSync(stale, 'half a pack');
    writeFileSync(fresh, 'a pack being written');
    const old = new Date(Date.now() - 3600_000);
    utimesSync(stale, old, old);
    const repo = await open(s.base, join(s.base, 'cache'), []);
    const summary = await repairIndex(repo);
    expect(summary.temporaryFilesRemoved).toBe(1);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(fresh)).toBe(true);
    expect((await verify(repo)).problems).toEqual([]);
    await repo.close();
  });
});

describe('a full disk under the cache', () => {
  it('is a NO_SPACE error that keeps the cache, not a rebuild', async () => {
    const s = await twoSnapshots();
    const mnt = join(s.base, 'small');
    mkdirSync(mnt);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt], { stdio: 'ignore' });
    } catch {
      return; // mounting is not permitted here (not root)
    }
    try {
      const warm: RepositoryWarning[] = [];
      const first = await open(s.base, mnt, warm);
      await first.index(); // a cache exists
      await first.close();
      writeFileSync(join(mnt, 'filler'), Buffer.alloc(0));
      try {
        execFileSync('dd', ['if=/dev/zero', `of=${join(mnt, 'filler')}`, 'bs=4k'], { stdio: 'ignore' });
      } catch {
        // dd stops with an error once the file system is full
      }
      const warnings: RepositoryWarning[] = [];
      const err = await open(s.base, mnt, warnings)
        .then((r) => r.index().finally(() => r.close()))
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'NO_SPACE' });
      expect(warnings).toEqual([]);
      const kept = readdirSync(mnt).filter((n) => existsSync(join(mnt, n, 'index', 'CURRENT')));
      expect(kept).toHaveLength(1);
    } finally {
      execFileSync('umount', [mnt]);
    }
  });
});
