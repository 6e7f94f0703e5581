/**
 * The exit codes that need more than a bad argument: 3 (partial backup: an unreadable file),
 * 11 (locked repository) with `unlock`, and 130 (Ctrl-C: clean stop, locks released, and a second
 * Ctrl-C forces; 143 for SIGTERM). Exit codes 1, 10 and 12 are in basics.test.ts and
 * password.test.ts.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Repository } from '@cairn/core';
import { DiskStore } from '@cairn/store-disk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  alive,
  chownTree,
  expectCode,
  findNamed,
  finished,
  isRoot,
  jsonLines,
  NOBODY,
  names,
  PASSWORD,
  readTree,
  Sandbox,
  SLOW_SOURCE,
  sleep,
  waitForOutput,
  writeTree,
} from './helpers.js';

describe('exit code 3: backup finished, some files could not be read', () => {
  // chmod 000 does not stop root from reading: as root, the CLI runs as `nobody` instead.
  const user = isRoot ? NOBODY : {};
  let b: Sandbox;
  let src: string;
  let secret: string;

  beforeAll(async () => {
    b = await Sandbox.create();
    src = b.path('src');
    await fsp.mkdir(b.cache);
    if (isRoot) await chownTree(b.root, NOBODY.uid, NOBODY.gid);
    await writeTree(src, { 'ok.txt': 'readable\n', 'sub/also-ok.txt': 'fine\n', 'secret.txt': 'top secret\n' });
    secret = join(src, 'secret.txt');
    await fsp.chmod(secret, 0o000);
    await b.init(user);
  });
  afterAll(async () => {
    await b.remove();
  });

  it('saves a partial snapshot, names the file, exits 3', async () => {
    const r = await b.run(['backup', src], user);
    expectCode(r, 3);
    expect(r.stderr).toContain(`error: ${secret}: EACCES`);
    expect(r.stderr).toContain('warning: 1 file(s) could not be read; the snapshot is marked partial');
    expect(r.stdout).toMatch(/^snapshot [0-9a-f]{8} saved/);
    expect(r.stdout).toContain('files: 2 new, 0 changed, 0 unchanged');

    const [s] = JSON.parse((await b.run(['snapshots', '--json'], user)).stdout) as Record<string, unknown>[];
    expect(s).toMatchObject({ partial: true, errorCount: 1 });
    if (isRoot) expect(s?.username).toBe('nobody'); // the test really ran unprivileged

    const target = b.path('restored');
    expectCode(await b.run(['restore', 'latest', '--target', target], user), 0);
    expect(Object.keys(await readTree(join(target, src))).sort()).toEqual(['ok.txt', 'sub', 'sub/also-ok.txt']);
  });

  it('--json: one error event for the file, and a summary marked partial', async () => {
    const r = await b.run(['backup', '--json', src], user);
    expectCode(r, 3);
    const events = jsonLines(r.stdout);
    const errors = events.filter((e) => e.type === 'error');
    expect(errors).toEqual([
      expect.objectContaining({ type: 'error', operation: 'backup', path: secret, code: 'EACCES' }),
    ]);
    expect(String(errors[0]?.message)).toContain('permission denied');
    expect(events[0]?.type).toBe('start');
    expect(events.at(-1)).toMatchObject({ type: 'summary', partial: true, errors: 1 });
    expect(r.stderr).toContain('marked partial');
  });

  it('tries the file again when the partial snapshot is the parent (its directory is not taken as unchanged)', async () => {
    const snaps = JSON.parse((await b.run(['snapshots', '--json'], user)).stdout) as { id: string }[];
    const parent = snaps.at(-1)!.id;
    const r = await b.run(['backup', '--json', '--parent', parent, src], user);
    expectCode(r, 3);
    const events = jsonLines(r.stdout);
    expect(events.filter((e) => e.type === 'error')).toEqual([
      expect.objectContaining({ type: 'error', path: secret, code: 'EACCES' }),
    ]);
    expect(events.at(-1)).toMatchObject({ type: 'summary', parent, partial: true });
  });
});

describe('a restore run again by a user without root', () => {
  // As root, permissions do not stop reading; the restores run as `nobody`.
  it.runIf(isRoot)('resumes over files it restored with mode 000 (verified, mode kept)', async () => {
    const b = await Sandbox.create();
    try {
      const src = b.path('src');
      await writeTree(src, { 'open.txt': 'anyone\n', 'locked.txt': 'nobody may read this\n' });
      await fsp.chmod(join(src, 'locked.txt'), 0o000);
      await b.init();
      await b.backup([src]);
      const target = b.path('out');
      const cache = b.path('nobody-cache');
      await fsp.mkdir(target);
      await fsp.mkdir(cache);
      await chownTree(target, NOBODY.uid, NOBODY.gid);
      await chownTree(cache, NOBODY.uid, NOBODY.gid);
      const asNobody = { ...NOBODY, env: { CAIRN_CACHE_DIR: cache } };
      const first = await b.run(['restore', 'latest', '--target', target], asNobody);
      expectCode(first, 0); // owners are left to the user without root, as restic does
      const locked = join(target, src, 'locked.txt');
      expect((await fsp.stat(locked)).mode & 0o777).toBe(0);
      const again = await b.run(['restore', 'latest', '--target', target], asNobody);
      expect(again.stdout).toMatch(/files: 0 restored, 2 already complete, 0 failed/);
      expect((await fsp.stat(locked)).mode & 0o777).toBe(0);
      expect(await fsp.readFile(locked, 'utf8')).toBe('nobody may read this\n'); // read as root
    } finally {
      await b.remove();
    }
  });
});

describe('exit code 11: repository locked', () => {
  let b: Sandbox;
  let store: DiskStore;
  let repo: Repository;
  const data = () => b.path('data');

  beforeAll(async () => {
    b = await Sandbox.create();
    await b.init();
    await writeTree(data(), { 'f.txt': 'file\n' });
    store = new DiskStore(b.repo);
    repo = await Repository.open(store, { password: PASSWORD, cacheDir: b.path('api-cache') });
  });
  afterAll(async () => {
    await repo.close();
    await store.close();
    await b.remove();
  });

  it('a backup against an exclusive lock fails with 11 naming the holder', async () => {
    const lock = await repo.lock({ exclusive: true, operation: 'test' });
    try {
      const r = await b.run(['backup', data()]);
      expectCode(r, 11);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(`repository is locked: an exclusive lock by `);
      expect(r.stderr).toContain(`@${hostname()} pid ${process.pid} (test)`);
      expect(r.stderr).toContain('cairn unlock');

      const j = await b.run(['backup', '--json', data()]);
      expectCode(j, 11);
      expect(jsonLines(j.stdout).at(-1)).toMatchObject({ type: 'error', code: 'LOCKED', exitCode: 11 });
      expect(await b.snapshots()).toEqual([]); // reading needs no lock
    } finally {
      await lock.release();
    }
    expectCode(await b.run(['backup', data()]), 0);
  });

  it('a shared lock (another backup) does not block a backup', async () => {
    const lock = await repo.lock({ exclusive: false, operation: 'backup' });
    try {
      expectCode(await b.run(['backup', data()]), 0);
    } finally {
      await lock.release();
    }
  });

  it('unlock keeps live locks; unlock --remove-all removes them', async () => {
    const lock = await repo.lock({ exclusive: true, operation: 'test' });
    try {
      expect(await names(join(b.repo, 'locks'))).toHaveLength(1);
      const keep = await b.run(['unlock']);
      expectCode(keep, 0);
      expect(keep.stdout.trim()).toBe('0 lock(s) removed');
      expectCode(await b.run(['backup', data()]), 11);

      const all = await b.run(['unlock', '--remove-all']);
      expectCode(all, 0);
      expect(all.stdout).toMatch(/^removed lock [0-9a-f]{8} \(test by .+ pid \d+, .+\)$/m);
      expect(all.stdout).toContain('1 lock(s) removed');
      expect(await names(join(b.repo, 'locks'))).toEqual([]);
      expectCode(await b.run(['backup', data()]), 0);
    } finally {
      await lock.release();
    }
  });

  it('unlock removes the lock of a killed cairn process', async () => {
    const child = b.spawn(['backup', '--json', '--stdin', '--stdin-name', 'x.bin']);
    const done = finished(child);
    child.stdin?.write(Buffer.alloc(64 * 1024, 1)); // and keep stdin open: the backup waits for more
    await waitForOutput(child, (out) => out.includes('"type":"start"'));
    child.kill('SIGKILL');
    expect((await done).signal).toBe('SIGKILL');
    expect(await names(join(b.repo, 'locks'))).toHaveLength(1);

    const r = await b.run(['unlock', '--json']);
    expectCode(r, 0);
    const [summary] = jsonLines(r.stdout);
    expect(summary).toMatchObject({ type: 'summary', operation: 'unlock' });
    expect(summary?.removed).toEqual([expect.objectContaining({ operation: 'backup', pid: child.pid })]);
    expect(await names(join(b.repo, 'locks'))).toEqual([]);
  });
});

describe('exit code 130: Ctrl-C', () => {
  let b: Sandbox;
  beforeAll(async () => {
    b = await Sandbox.create();
    await b.init();
    await writeTree(b.path('data'), { 'f.txt': 'file\n' });
    await b.backup([b.path('data')]);
  });
  afterAll(async () => {
    await b.remove();
  });

  /** What must hold after an interrupted backup: no lock, no temp object, no new snapshot, repo fine. */
  async function expectCleanRepository(snapshotsBefore: number): Promise<void> {
    expect(await names(join(b.repo, 'locks'))).toEqual([]);
    expect(await findNamed(b.repo, '.tmp-')).toEqual([]);
    expect(await b.snapshots()).toHaveLength(snapshotsBefore);
    // every pack present is complete and authentic (a half-written one would be listed as damaged)
    const repair = await b.run(['repair', 'index', '--json']);
    expectCode(repair, 0);
    expect(jsonLines(repair.stdout).at(-1)).toMatchObject({ type: 'summary', damagedPacks: [] });
    expectCode(await b.run(['backup', b.path('data')]), 0);
  }

  /** Starts `cairn backup --stdin` fed by a slow producer of random bytes that never ends by itself. */
  function backupFromSlowSource(): { cairn: ChildProcess; producer: ChildProcess } {
    const cairn = b.spawn(['backup', '--json', '--stdin', '--stdin-name', 'dump.bin']);
    const producer = spawn(process.execPath, [SLOW_SOURCE, '0', '64', '20'], { stdio: ['ignore', 'pipe', 'ignore'] });
    producer.stdout.pipe(cairn.stdin!);
    cairn.stdin?.on('error', () => {});
    return { cairn, producer };
  }

  it('SIGINT during a backup stops it cleanly: exit 130, locks released, nothing half-written', async () => {
    const before = (await b.snapshots()).length;
    const { cairn, producer } = backupFromSlowSource();
    try {
      const done = finished(cairn);
      await waitForOutput(cairn, (out) => /"type":"progress".*"bytesDone":[1-9]/.test(out));
      expect(await names(join(b.repo, 'locks'))).toHaveLength(1); // the backup holds its lock
      cairn.kill('SIGINT');
      const r = await done;
      expectCode(r, 130);
      expect(r.stderr).toContain('interrupted: stopping cleanly (press Ctrl-C again to force)');
      expect(jsonLines(r.stdout).at(-1)).toMatchObject({ type: 'error', code: 'ABORTED', exitCode: 130 });
      expect(jsonLines(r.stdout).some((e) => e.type === 'summary')).toBe(false);
    } finally {
      producer.kill();
    }
    await expectCleanRepository(before);
  });

  it('SIGTERM stops it the same way, with exit 143 everywhere and a message about SIGTERM', async () => {
    const before = (await b.snapshots()).length;
    const { cairn, producer } = backupFromSlowSource();
    try {
      const done = finished(cairn);
      await waitForOutput(cairn, (out) => /"type":"progress".*"bytesDone":[1-9]/.test(out));
      cairn.kill('SIGTERM');
      const r = await done;
      expectCode(r, 143);
      expect(r.stderr).toContain('terminated (SIGTERM): stopping cleanly (send SIGTERM again to force)');
      expect(r.stderr).not.toContain('Ctrl-C');
      expect(jsonLines(r.stdout).at(-1)).toMatchObject({ type: 'error', code: 'ABORTED', exitCode: 143 });
    } finally {
      producer.kill();
    }
    await expectCleanRepository(before);
  });

  it('SIGINT stops a backup whose input has stalled (no more data arriving)', async () => {
    const before = (await b.snapshots()).length;
    const cairn = b.spawn(['backup', '--json', '--stdin', '--stdin-name', 'stalled.bin']);
    const done = finished(cairn, 10_000);
    cairn.stdin?.write(Buffer.alloc(512 * 1024, 7)); // then nothing more, but stdin stays open
    await waitForOutput(cairn, (out) => out.includes('"type":"start"'));
    await sleep(300); // the data written is consumed; the backup now waits for input
    const t0 = Date.now();
    cairn.kill('SIGINT');
    const r = await done;
    expectCode(r, 130);
    expect(Date.now() - t0).toBeLessThan(5_000);
    cairn.stdin?.destroy();
    await expectCleanRepository(before);
  });

  it('a second SIGINT forces the exit when the first cannot finish', async () => {
    // The password command never answers: the first SIGINT asks to stop, but cairn waits for it.
    const marker = b.path('password-command.pid');
    const child = b.spawn(['snapshots', '--password-command', `echo $$ > '${marker}'; exec sleep 30`], {
      env: { CAIRN_PASSWORD: undefined },
    });
    const done = finished(child, 10_000);
    try {
      for (let i = 0; i < 200 && !existsSync(marker); i++) await sleep(25);
      expect(existsSync(marker)).toBe(true);
      child.kill('SIGINT');
      await waitForOutput(child, (err) => err.includes('press Ctrl-C again to force'), { stream: 'stderr' });
      await sleep(300);
      expect(child.exitCode).toBe(null); // still waiting after the first one
      const t0 = Date.now();
      child.kill('SIGINT');
      const r = await done;
      expectCode(r, 130);
      expect(Date.now() - t0).toBeLessThan(3_000);
    } finally {
      const pid = Number(readFileSync(marker, 'utf8'));
      if (pid > 0 && alive(pid)) process.kill(pid);
    }
  });
});

describe('output pipe closed by the reader', () => {
  it('`cairn ls … | head` ends quietly (exit 1), no crash or stack trace', async () => {
    const b = await Sandbox.create();
    try {
      await b.init();
      const files: Record<string, string> = {};
      for (let i = 0; i < 800; i++) files[`dir/file-with-a-long-name-${i}.txt`] = `${i}\n`;
      await writeTree(b.path('many'), files);
      await b.backup([b.path('many')]);

      const child = b.spawn(['ls', '--json', 'latest']);
      const done = finished(child);
      child.stdout?.once('data', () => child.stdout?.destroy()); // read one chunk, then hang up
      const r = await done;
      expect(r.stdout.length).toBeLessThan(800 * 100); // it really was cut short
      expect(r.stderr).not.toMatch(/EPIPE|Unhandled|\n\s+at /);
      expectCode(r, 1);
    } finally {
      await b.remove();
    }
  });
});
