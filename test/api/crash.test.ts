/**
 * Crash safety: `kill -9` of a backup, a restore and a password change at many points, and a full
 * disk during backup. Afterwards the repository must verify with --read-data, no snapshot may
 * reference missing data, and the interrupted operation must complete when run again.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { backup, listSnapshots, Repository, repositoryStats, verify } from '@cairn/core';
import { type DiskFileSystem, DiskStore } from '@cairn/store-disk';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, FAST_KDF, PASSWORD, reopen, tempDir } from './helpers.js';
import { compareTrees, describeTree, isRoot, seededBytes } from './tree-fixtures.js';

afterAll(cleanup);

const CAIRN = join(import.meta.dirname, '..', '..', 'packages', 'cli', 'bin', 'cairn.js');

/** When to kill a run: after a number of ms, or once a condition (polled every 2 ms) holds. */
type KillWhen = number | (() => boolean);

function cairn(
  args: string[],
  env: Record<string, string>,
  killAfterMs?: KillWhen,
): Promise<{ code: number | null; signal: string | null; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [CAIRN, ...args, '--no-progress', '--quiet'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer =
      killAfterMs === undefined
        ? undefined
        : typeof killAfterMs === 'number'
          ? setTimeout(() => child.kill('SIGKILL'), killAfterMs)
          : setInterval(() => {
              if (killAfterMs()) child.kill('SIGKILL');
            }, 2);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (timer) clearInterval(timer); // clears a timeout too
      if (killAfterMs === undefined && code !== 0)
        reject(new Error(`cairn ${args.join(' ')} failed (${code}): ${stderr}`));
      else resolve({ code, signal, ms: Date.now() - t0 });
    });
  });
}

function makeSource(dir: string): void {
  mkdirSync(join(dir, 'a', 'b'), { recursive: true });
  for (let i = 0; i < 6; i++) writeFileSync(join(dir, 'a', `big-${i}.bin`), seededBytes(16 * 1024 * 1024, 700 + i));
  for (let i = 0; i < 200; i++) writeFileSync(join(dir, 'a', 'b', `small-${i}.txt`), `record ${i}\n`.repeat(50 + i));
  writeFileSync(
    join(dir, 'dump.sql'),
    Buffer.concat(Array.from({ length: 200_000 }, (_, i) => Buffer.from(`INSERT INTO t VALUES (${i});\n`))),
  );
}

describe('crash safety', () => {
  it('kill -9 of a backup at 20 points: the repository verifies, and the next backup completes reusing stored data', async () => {
    const base = tempDir();
    const src = join(base, 'src');
    makeSource(src);
    const env = { CAIRN_PASSWORD: PASSWORD, CAIRN_CACHE_DIR: join(base, 'cache') };
    const repoDir = join(base, 'repo');
    await cairn(['init', '--repo', repoDir, '--kdf-work', '1024', '--pack-size', '2M'], env);
    const packs = () => {
      const data = join(repoDir, 'data');
      if (!existsSync(data)) return 0; // created with the first pack
      let n = 0;
      for (const d of readdirSync(data)) n += readdirSync(join(data, d)).length;
      return n;
    };

    // Kill points: the first runs at times that fall in start-up, opening and the first reads; the
    // others once they have stored 1 to 7 packs of their own (by progress, not time, so that a
    // faster or slower machine still kills every run in the middle of its work).
    const points = 20;
    let killed = 0;
    for (let i = 0; i < points; i++) {
      // Fresh data in every run, so each one has real work left when it is killed.
      writeFileSync(join(src, 'a', `big-${i % 6}.bin`), seededBytes(16 * 1024 * 1024, 7000 + i));
      const start = packs();
      const at: KillWhen = i < 6 ? 30 + 40 * i : () => packs() >= start + 1 + ((i - 6) % 7);
      const r = await cairn(['backup', '--repo', repoDir, src], env, at);
      if (r.signal === 'SIGKILL') killed++;
      const repo = await reopen(base);
      const report = await verify(repo, { readData: true });
      expect(report.problems, `after kill point ${i}`).toEqual([]);
      await repo.close();
    }
    expect(killed, `${killed} of ${points} runs were killed before they finished`).toBeGreaterThanOrEqual(points / 2);

    const repo = await reopen(base);
    const before = (await repositoryStats(repo)).uniqueBytes;
    expect(before).toBeGreaterThan(0);
    const done = await backup(repo, { paths: [src], kind: 'full' });
    expect(done.bytes.read).toBeGreaterThan(100 * 1024 * 1024);
    // What the killed runs stored and indexed is reused: only the rest is added.
    expect((await repositoryStats(repo)).uniqueBytes - before).toBe(done.bytes.added);
    expect(done.bytes.added).toBeLessThan(done.bytes.read);
    const out = join(base, 'out');
    await (await import('@cairn/core')).restore(repo, done.snapshotId, { target: out });
    expect(compareTrees(describeTree(src), describeTree(join(out, src)))).toEqual([]);
    expect((await verify(repo, { readData: true })).ok).toBe(true);
    await repo.close();
  }, 240_000);

  it('kill -9 of a restore: running it again resumes and completes exactly', async () => {
    const base = tempDir();
    const src = join(base, 'src');
    makeSource(src);
    const env = { CAIRN_PASSWORD: PASSWORD, CAIRN_CACHE_DIR: join(base, 'cache') };
    const repoDir = join(base, 'repo');
    await cairn(['init', '--repo', repoDir, '--kdf-work', '1024'], env);
    await cairn(['backup', '--repo', repoDir, src], env);
    const scratch = join(base, 'scratch-out');
    const { ms: full } = await cairn(['restore', 'latest', '--repo', repoDir, '--target', scratch], env);
    const out = join(base, 'out');
    for (let i = 0; i < 8; i++) {
      await cairn(['restore', 'latest', '--repo', repoDir, '--target', out], env, Math.round((full * (i + 0.5)) / 8));
    }
    await cairn(['restore', 'latest', '--repo', repoDir, '--target', out], env);
    expect(compareTrees(describeTree(src), describeTree(join(out, src)))).toEqual([]);
  }, 180_000);

  it('kill -9 of a password change: the repository always has a usable key', async () => {
    const base = tempDir();
    const env = { CAIRN_CACHE_DIR: join(base, 'cache') };
    const repoDir = join(base, 'repo');
    await cairn(['init', '--repo', repoDir, '--kdf-work', '16384'], { ...env, CAIRN_PASSWORD: 'pw-0' });
    let current = 'pw-0';
    const { ms } = await cairn(['key', 'passwd', '--repo', repoDir, '--kdf-work', '16384'], {
      ...env,
      CAIRN_PASSWORD: current,
      CAIRN_NEW_PASSWORD: 'pw-x',
    });
    current = 'pw-x';
    for (let i = 1; i <= 12; i++) {
      const next = `pw-${i}`;
      await cairn(
        ['key', 'passwd', '--repo', repoDir, '--kdf-work', '16384'],
        { ...env, CAIRN_PASSWORD: current, CAIRN_NEW_PASSWORD: next },
        Math.round((ms * i) / 12),
      );
      const opens = async (pw: string) =>
        Repository.open(new DiskStore(repoDir), { password: pw, cacheDir: join(base, 'cache') }).then(
          (r) => r.close().then(() => true),
          (e: { code?: string }) => {
            if (e.code !== 'WRONG_PASSWORD') throw e;
            return false;
          },
        );
      const [oldOk, newOk] = await Promise.all([opens(current), opens(next)]);
      expect(oldOk || newOk, `after kill ${i}`).toBe(true);
      if (newOk) current = next;
    }
  }, 120_000);

  it('a full disk fails the backup with NO_SPACE, commits nothing, and the repository verifies', async () => {
    const base = tempDir();
    const src = join(base, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'small'), 'fits');
    for (let i = 0; i < 4; i++) writeFileSync(join(src, `big-${i}`), seededBytes(8 * 1024 * 1024, 900 + i));
    // A store whose writes fail with ENOSPC once 12 MiB have been written.
    let written = 0;
    const limit = 12 * 1024 * 1024;
    const full: DiskFileSystem = {
      ...fsp,
      open: (async (path: string, flags?: string, mode?: number) => {
        const h = await fsp.open(path, flags, mode);
        if (flags !== 'wx') return h;
        const write = h.write.bind(h) as (...a: unknown[]) => Promise<{ bytesWritten: number }>;
        (h as unknown as { write: unknown }).write = async (buf: Uint8Array, off: number, len: number) => {
          if (written + len > limit)
            throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
          written += len;
          return write(buf, off, len);
        };
        return h;
      }) as typeof fsp.open,
    };
    const repoDir = join(base, 'repo');
    const cacheDir = join(base, 'cache');
    const repo = await Repository.init(new DiskStore(repoDir, { fileSystem: full }), {
      password: PASSWORD,
      cacheDir,
      ...FAST_KDF,
      packSize: 1024 * 1024,
    });
    await expect(backup(repo, { paths: [src] })).rejects.toMatchObject({ code: 'NO_SPACE' });
    expect(await listSnapshots(repo)).toEqual([]);
    expect(readdirSync(join(repoDir, 'locks'))).toEqual([]);
    await repo.close();
    const again = await reopen(base);
    expect((await verify(again, { readData: true })).problems).toEqual([]);
    // Once space is back, the backup completes.
    const ok = await backup(again, { paths: [src] });
    expect(ok.partial).toBe(false);
    await again.close();
  });

  it.runIf(isRoot)(
    'on a real full file system (tmpfs), the backup fails cleanly and the repository verifies',
    async () => {
      const base = tempDir();
      const mnt = join(base, 'mnt');
      mkdirSync(mnt);
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', mnt], { stdio: 'ignore' });
      } catch {
        return; // mounting is not permitted in this environment; the injected case above covers it
      }
      try {
        const src = join(base, 'src');
        mkdirSync(src);
        for (let i = 0; i < 5; i++) writeFileSync(join(src, `big-${i}`), seededBytes(8 * 1024 * 1024, 950 + i));
        const store = new DiskStore(join(mnt, 'repo'));
        const repo = await Repository.init(store, {
          password: PASSWORD,
          cacheDir: join(base, 'cache'),
          ...FAST_KDF,
          packSize: 1024 * 1024,
        });
        const err = await backup(repo, { paths: [src] }).catch((e: unknown) => e);
        expect(err).toMatchObject({ code: 'NO_SPACE' });
        expect((err as Error).message).toMatch(/no space/);
        expect(await listSnapshots(repo)).toEqual([]);
        expect((await verify(repo, { readData: true })).problems).toEqual([]);
        await repo.close();
      } finally {
        execFileSync('umount', [mnt]);
      }
    },
  );
});
