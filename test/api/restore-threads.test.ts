/**
 * Restore on worker threads and on the calling thread, into empty and non-empty targets: the same
 * exact result either way; files spread over several pack ranges; damaged data; cancellation and
 * a full target leave no truncated file under a final name, and a second run completes.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { backup, type CairnEvent, findPath, findSnapshot, prestartWriterThreads, restore, verify } from '@cairn/core';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, newRepo, reopen, tempDir } from './helpers.js';
import { compareTrees, describeTree, isRoot, makeEdgeCaseTree, seededBytes } from './tree-fixtures.js';

afterAll(cleanup);

/** Every entry below `dir` whose name marks an unfinished restore. */
function leftovers(dir: string): string[] {
  const out: string[] = [];
  const visit = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name.startsWith('.cairn-restore-')) out.push(join(d, e.name));
      if (e.isDirectory()) visit(join(d, e.name));
    }
  };
  if (existsSync(dir)) visit(dir);
  return out;
}

/** A tree of many small files and a few large ones, some with runs of zeros (sparse). */
function makeMixedTree(root: string): void {
  makeEdgeCaseTree(root, { bigSize: 20 * 1024 * 1024 });
  for (let d = 0; d < 12; d++) {
    mkdirSync(join(root, 'many', `d${d}`), { recursive: true });
    for (let f = 0; f < 40; f++) {
      writeFileSync(join(root, 'many', `d${d}`, `f${f}.txt`), `file ${d}/${f}\n`.repeat(1 + ((d * 40 + f) % 200)));
    }
  }
  // Large files over several ranges, one ending in zeros (a hole at the end).
  writeFileSync(join(root, 'large-1.bin'), seededBytes(18 * 1024 * 1024, 501));
  writeFileSync(
    join(root, 'large-2.bin'),
    Buffer.concat([seededBytes(9 * 1024 * 1024, 502), Buffer.alloc(12 * 1024 * 1024)]),
  );
}

describe('restore engine', () => {
  it('restores exactly the same on worker threads and on the calling thread, into empty and non-empty targets', async () => {
    const { repo, base } = await newRepo();
    const src = join(base, 'src');
    makeMixedTree(src);
    await backup(repo, { paths: [src] });
    const expected = describeTree(src);
    for (const threads of [2, 0]) {
      // Empty target.
      const fresh = join(base, `fresh-${threads}`);
      const events: CairnEvent[] = [];
      const r = await restore(repo, 'latest', { target: fresh, threads, onEvent: (e) => events.push(e) });
      expect(r.failures).toEqual([]);
      expect(compareTrees(expected, describeTree(join(fresh, src)))).toEqual([]);
      expect(statSync(join(fresh, src, 'large-2.bin')).blocks * 512).toBeLessThan(15 * 1024 * 1024); // 12 MiB of zeros at the end
      expect(leftovers(fresh)).toEqual([]);
      expect(events[0]).toMatchObject({ type: 'start', operation: 'restore' });
      expect(events.at(-1)).toMatchObject({ type: 'summary' });
      const start = events[0] as { filesTotal: number; bytesTotal: number };
      expect(start.filesTotal).toBe(r.files.restored + r.files.skipped + r.files.failed);
      expect(events.filter((e) => e.type === 'start')).toHaveLength(1);
      // Non-empty target (something unrelated is already there).
      const used = join(base, `used-${threads}`);
      mkdirSync(used);
      writeFileSync(join(used, 'unrelated'), 'keep me');
      const u = await restore(repo, 'latest', { target: used, threads });
      expect(u.failures).toEqual([]);
      expect(compareTrees(expected, describeTree(join(used, src)))).toEqual([]);
      expect(readFileSync(join(used, 'unrelated'), 'utf8')).toBe('keep me');
      // Running it again verifies and skips everything.
      const again = await restore(repo, 'latest', { target: used, threads });
      expect(again.files.restored).toBe(0);
      expect(again.failures).toEqual([]);
    }
    await repo.close();
  });

  it('takes writer threads started before the keys were known, for restore and verify', async () => {
    const { repo, base } = await newRepo();
    const src = join(base, 'src');
    makeMixedTree(src);
    await backup(repo, { paths: [src] });
    expect(prestartWriterThreads(2)).toBe(2);
    expect(prestartWriterThreads(1)).toBe(2); // already there: nothing more started
    const out = join(base, 'ahead');
    const r = await restore(repo, 'latest', { target: out, threads: 1 });
    expect(r.failures).toEqual([]);
    expect(compareTrees(describeTree(src), describeTree(join(out, src)))).toEqual([]);
    expect(prestartWriterThreads(0)).toBe(1); // the restore took one
    const v = await verify(repo, { readData: true });
    expect(v.ok).toBe(true);
    expect(v.checked.blobsRead).toBeGreaterThan(0);
    expect(prestartWriterThreads(0)).toBe(0);
    await repo.close();
  });

  it('restores what it can from damaged packs and lists the rest', async () => {
    const { repo, base } = await newRepo(undefined, { packSize: 1024 * 1024 });
    const src = join(base, 'src');
    makeMixedTree(src);
    await backup(repo, { paths: [src] });
    // Damage a few bytes in the middle of every other data pack.
    const packs: string[] = [];
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(d, e.name));
        else packs.push(join(d, e.name));
      }
    };
    walk(join(base, 'repo', 'data'));
    packs.sort();
    let damaged = 0;
    for (const [i, p] of packs.entries()) {
      const size = statSync(p).size;
      if (i % 2 === 1 && size > 200_000) {
        const bytes = readFileSync(p);
        bytes[Math.floor(size / 2)]! ^= 0xff;
        writeFileSync(p, bytes);
        damaged++;
      }
    }
    expect(damaged).toBeGreaterThan(0);
    for (const threads of [2, 0]) {
      const out = join(base, `out-${threads}`);
      const r = await restore(repo, 'latest', { target: out, threads });
      expect(r.files.failed).toBeGreaterThan(0);
      expect(r.files.restored).toBeGreaterThan(0);
      expect(r.failures.length).toBeGreaterThan(0);
      for (const f of r.failures) expect(['AUTH_FAILED', 'CORRUPT_DATA', 'NOT_FOUND']).toContain(f.code);
      expect(leftovers(out)).toEqual([]);
      // Whatever was restored is exact.
      const got = describeTree(join(out, src));
      const want = describeTree(src);
      for (const [k, v] of got) {
        if (v.type === 'file') expect(v.hash).toBe(want.get(k)?.hash);
      }
    }
    await repo.close();
  });

  it('a damaged tree blob fails its directory alone, with tree blobs opened on a writer thread or here', async () => {
    const { repo, base } = await newRepo();
    const src = join(base, 'src');
    // Enough directories that the trees come in several ranges and jobs.
    for (let d = 0; d < 60; d++) {
      mkdirSync(join(src, `d${d}`, 'sub'), { recursive: true });
      for (let f = 0; f < 20; f++) writeFileSync(join(src, `d${d}`, 'sub', `f${f}.txt`), `file ${d}/${f}\n`);
    }
    await backup(repo, { paths: [src] });
    const snap = await findSnapshot(repo, 'latest');
    const { node } = await findPath(repo, snap.tree, join(src, 'd17'));
    const loc = await (await repo.index()).get(Buffer.from(node!.subtree!, 'hex'));
    expect(loc?.type).toBe('tree');
    const pack = join(base, 'repo', 'data', loc!.packId.slice(0, 2), loc!.packId);
    const bytes = readFileSync(pack);
    bytes[loc!.offset + Math.floor(loc!.length / 2)]! ^= 0xff;
    writeFileSync(pack, bytes);
    await repo.close(); // it holds the trees findPath read
    const want = describeTree(src);
    for (const threads of [2, 0]) {
      const fresh = await reopen(base);
      const out = join(base, `trees-${threads}`);
      const r = await restore(fresh, 'latest', { target: out, threads });
      await fresh.close();
      expect(r.failures.map((f) => [f.path, f.code])).toEqual([[join(src, 'd17'), 'AUTH_FAILED']]);
      expect(r.files.restored).toBe(59 * 20);
      const got = describeTree(join(out, src));
      for (const [k, v] of want) {
        const inside = Buffer.from(k, 'hex').toString().startsWith('d17/');
        if (inside || k === Buffer.from('d17').toString('hex')) continue;
        expect(got.get(k)?.hash, Buffer.from(k, 'hex').toString()).toBe(v.hash);
      }
      expect(existsSync(join(out, src, 'd17', 'sub'))).toBe(false);
    }
  });

  it('cancelling leaves no truncated file under a final name, and the next run completes', async () => {
    const { repo, base } = await newRepo();
    const src = join(base, 'src');
    makeMixedTree(src);
    await backup(repo, { paths: [src] });
    const out = join(base, 'out');
    const ac = new AbortController();
    const run = restore(repo, 'latest', {
      target: out,
      threads: 2,
      signal: ac.signal,
      onEvent: (e) => {
        if (e.type === 'progress' && e.bytesDone > 0) ac.abort();
      },
    });
    setTimeout(() => ac.abort(), 150);
    await expect(run).rejects.toMatchObject({ code: 'ABORTED' });
    // Every file present under its final name is complete.
    const want = describeTree(src);
    if (existsSync(join(out, src))) {
      for (const [k, v] of describeTree(join(out, src))) {
        if (v.type === 'file' && !Buffer.from(k, 'hex').toString().split('/').pop()!.startsWith('.cairn-restore-')) {
          expect(v.hash).toBe(want.get(k)?.hash);
        }
      }
    }
    const done = await restore(repo, 'latest', { target: out, threads: 2 });
    expect(done.failures).toEqual([]);
    expect(compareTrees(want, describeTree(join(out, src)))).toEqual([]);
    expect(leftovers(out)).toEqual([]);
    await repo.close();
  });

  it.runIf(isRoot)(
    'a full target stops the restore with NO_SPACE and no truncated file under a final name',
    async () => {
      const { repo, base } = await newRepo();
      const src = join(base, 'src');
      mkdirSync(src);
      for (let i = 0; i < 6; i++) writeFileSync(join(src, `big-${i}.bin`), seededBytes(6 * 1024 * 1024, 800 + i));
      for (let i = 0; i < 300; i++) writeFileSync(join(src, `small-${i}.txt`), `small ${i}\n`.repeat(100));
      await backup(repo, { paths: [src] });
      const mnt = join(tempDir(), 'mnt');
      mkdirSync(mnt);
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mnt], { stdio: 'ignore' });
      } catch {
        return; // mounting is not permitted here
      }
      try {
        for (const threads of [2, 0]) {
          const out = join(mnt, `out-${threads}`);
          await expect(restore(repo, 'latest', { target: out, threads })).rejects.toMatchObject({ code: 'NO_SPACE' });
          const want = describeTree(src);
          if (existsSync(join(out, src))) {
            for (const [k, v] of describeTree(join(out, src))) {
              const name = Buffer.from(k, 'hex').toString();
              if (v.type === 'file' && !name.startsWith('.cairn-restore-')) expect(v.hash).toBe(want.get(k)?.hash);
            }
          }
          execFileSync('rm', ['-rf', out]);
        }
      } finally {
        execFileSync('umount', [mnt]);
      }
      await repo.close();
    },
  );
});
