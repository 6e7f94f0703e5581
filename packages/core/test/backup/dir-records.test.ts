/**
 * DirRecords: the digest covers every field a tree node takes, records come back only for the run
 * of the snapshot they were committed for (read in one pass or one by one), and a cache rebuild
 * removes them. (The walk that uses
 * them is tested end to end in test/api/dir-records.test.ts.)
 */
import type { BigIntStats } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { DirRecords } from '../../src/backup/dir-records.js';
import type { StatResult } from '../../src/backup/metadata-reader.js';
import { IndexCache } from '../../src/index/index-cache.js';

const dir = mkdtempSync(join(tmpdir(), 'cairn-dirrec-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FIELDS = ['mode', 'uid', 'gid', 'size', 'ino', 'dev', 'nlink', 'rdev', 'mtimeNs', 'ctimeNs'] as const;

function stat(over: Partial<Record<(typeof FIELDS)[number], bigint>> = {}): StatResult {
  const base = {
    mode: 0o100644n,
    uid: 1000n,
    gid: 1000n,
    size: 123n,
    ino: 42n,
    dev: 2049n,
    nlink: 1n,
    rdev: 0n,
    mtimeNs: 1_700_000_000_123_456_789n,
    ctimeNs: 1_700_000_001_000_000_000n,
  };
  return { ...base, ...over } as unknown as BigIntStats;
}

const hex = (b: Uint8Array | undefined) => Buffer.from(b ?? []).toString('hex');
const snapshotId = (n: number) => n.toString(16).padStart(64, '0');
const TREE = 'ab'.repeat(32);

describe('DirRecords', () => {
  it('digests every field of every entry, and nothing when an entry has no stat', async () => {
    const cache = await IndexCache.open(join(dir, 'digest'));
    const r = await DirRecords.open(cache, undefined, true);
    const names = [{ name: Buffer.from('a') }, { name: Buffer.from('b') }];
    const base = r.digest(names, [stat(), stat({ ino: 43n })]);
    expect(base).toHaveLength(16);
    expect(hex(r.digest(names, [stat(), stat({ ino: 43n })]))).toBe(hex(base));
    const seen = new Set([hex(base)]);
    for (const f of FIELDS) {
      const changed = hex(r.digest(names, [stat(), stat({ ino: 43n, [f]: 999n })]));
      expect(seen.has(changed), f).toBe(false);
      seen.add(changed);
    }
    // Negative times (before 1970) are kept apart from positive ones.
    expect(hex(r.digest(names, [stat({ mtimeNs: -5n }), stat({ ino: 43n })]))).not.toBe(hex(base));
    expect(
      hex(r.digest([{ name: Buffer.from('a') }, { name: Buffer.from('c') }], [stat(), stat({ ino: 43n })])),
    ).not.toBe(hex(base));
    expect(hex(r.digest([names[0]!], [stat()]))).not.toBe(hex(base));
    const missing = Object.assign(new Error('gone'), { code: 'ENOENT' }) as NodeJS.ErrnoException;
    expect(r.digest(names, [stat(), missing])).toBeUndefined();
    await cache.close();
  });

  it("come back only for the committed run's snapshot, and go with a cache rebuild", async () => {
    const cache = await IndexCache.open(join(dir, 'runs'));
    const path = Buffer.from('/srv/data');
    const digest = new Uint8Array(16).fill(9);

    // Run 1 records and commits snapshot 1; run 2 records over it but stores no snapshot.
    const run1 = await DirRecords.open(cache, undefined, true);
    expect(run1.usable).toBe(false);
    run1.record(path, digest, TREE);
    run1.record(Buffer.from('/srv/gone'), digest, TREE);
    run1.forget(Buffer.from('/srv/gone'));
    await run1.commit(snapshotId(1));

    const next = await DirRecords.open(cache, snapshotId(1), true);
    expect(next.usable).toBe(true);
    const [rec, gone, never] = await next.lookup([path, Buffer.from('/srv/gone'), Buffer.from('/srv/never')]);
    expect(rec && hex(rec.digest)).toBe(hex(digest));
    expect(rec?.treeId).toBe(TREE);
    expect(gone).toBeUndefined();
    expect(never).toBeUndefined();

    // Not for a full backup, nor for another parent.
    expect((await DirRecords.open(cache, snapshotId(1), false)).usable).toBe(false);
    expect((await DirRecords.open(cache, snapshotId(2), true)).usable).toBe(false);

    // A run that fails after writing records (a full batch of them) leaves them without a note.
    const failed = await DirRecords.open(cache, snapshotId(1), true);
    failed.record(path, new Uint8Array(16).fill(1), 'cd'.repeat(32));
    for (let i = 1; i < 1024; i++) failed.record(Buffer.from(`/srv/x${i}`), digest, TREE);
    await failed.settle();
    const after = await DirRecords.open(cache, snapshotId(1), true);
    expect(await after.lookup([path])).toEqual([undefined]); // overwritten by a run nobody trusts

    await run1.settle();
    await cache.clear();
    expect((await DirRecords.open(cache, snapshotId(1), true)).usable).toBe(false);
    await cache.close();
  });

  it('that a run kept hold for its snapshot too, for a bounded chain of runs', async () => {
    const cache = await IndexCache.open(join(dir, 'chain'));
    const x = Buffer.from('/c/x');
    const y = Buffer.from('/c/y');
    const digest = new Uint8Array(16).fill(5);
    const other = 'ef'.repeat(32);
    const recordsWritten = (spy: { mock: { calls: unknown[][] } }) =>
      spy.mock.calls.flatMap((c) => c[0] as { key: Uint8Array }[]).filter((op) => op.key[0] === 0x77).length;

    const run1 = await DirRecords.open(cache, undefined, true);
    run1.record(x, digest, TREE);
    run1.record(y, digest, TREE);
    await run1.commit(snapshotId(11));

    // Run 2: x as recorded (kept, nothing written), y with another tree (written).
    const run2 = await DirRecords.open(cache, snapshotId(11), true);
    const [x1, y1] = await run2.lookup([x, y]);
    const writes = vi.spyOn(cache, 'writeNotes');
    run2.record(x, digest, TREE, x1);
    run2.record(y, digest, other, y1);
    await run2.commit(snapshotId(12));
    expect(recordsWritten(writes)).toBe(1);
    writes.mockRestore();

    // For snapshot 12: x from run 1, y from run 2. For snapshot 11: x still, y no longer.
    const [x2, y2] = await (await DirRecords.open(cache, snapshotId(12), true)).lookup([x, y]);
    expect([x2?.treeId, y2?.treeId]).toEqual([TREE, other]);
    const [x3, y3] = await (await DirRecords.open(cache, snapshotId(11), true)).lookup([x, y]);
    expect([x3?.treeId, y3]).toEqual([TREE, undefined]);

    // A chain of 16 runs keeps x; the 17th rewrites it, and the chain starts again from there.
    let parent = 12;
    const written: number[] = [];
    for (let n = 3; n <= 18; n++) {
      const run = await DirRecords.open(cache, snapshotId(parent), true);
      const [kept] = await run.lookup([x]);
      expect(kept?.treeId, `run ${n}`).toBe(TREE);
      const spy = vi.spyOn(cache, 'writeNotes');
      run.record(x, digest, TREE, kept);
      await run.commit(snapshotId(100 + n));
      written.push(recordsWritten(spy));
      spy.mockRestore();
      parent = 100 + n;
    }
    // Runs 3..16 trust chains of 2..15 runs and keep x; run 17 trusts 16, so it rewrites x.
    expect(written).toEqual([...Array(14).fill(0), 1, 0]);
    await cache.close();
  });

  it('are read in one pass when few, looked up one by one when many, with the same answers', async () => {
    const cache = await IndexCache.open(join(dir, 'preload'));
    const digest = new Uint8Array(16).fill(4);
    const trusted = await DirRecords.open(cache, undefined, true);
    for (let i = 0; i < 40; i++) trusted.record(Buffer.from(`/t/${i}`), digest, TREE);
    await trusted.commit(snapshotId(7));
    // Another run's records, over some of those paths and beside them: never trusted for snapshot 7.
    const other = await DirRecords.open(cache, undefined, true);
    for (let i = 30; i < 60; i++) other.record(Buffer.from(`/t/${i}`), digest, 'cd'.repeat(32));
    await other.commit(snapshotId(8));

    const paths = Array.from({ length: 70 }, (_, i) => Buffer.from(`/t/${i}`));
    const answers: (string | undefined)[][] = [];
    // 70 records in the cache: loaded at once under a bound of 100, looked up past one of 50.
    for (const max of [100, 50]) {
      const r = await DirRecords.open(cache, snapshotId(7), true, max);
      const spy = vi.spyOn(cache, 'getNotes');
      const got = (await r.lookup(paths)).map((rec) => rec && `${hex(rec.digest)}:${rec.treeId}`);
      expect(spy.mock.calls.length, `bound ${max}`).toBe(max === 100 ? 0 : 1);
      spy.mockRestore();
      answers.push(got);
    }
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[0]!.slice(0, 30)).toEqual(Array(30).fill(`${hex(digest)}:${TREE}`));
    expect(answers[0]!.slice(30)).toEqual(Array(40).fill(undefined));
    await cache.close();
  });

  it('stops recording, and is not trusted, when the cache falls far behind', async () => {
    const written: Uint8Array[][] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    // A cache that takes its time (an injected fault): writes finish only when released.
    const slow = {
      getNotes: async (keys: readonly Uint8Array[]) => keys.map(() => undefined),
      writeNotes: async (ops: readonly { key: Uint8Array }[]) => {
        await held;
        written.push(ops.map((o) => o.key));
      },
    } as unknown as IndexCache;
    const r = await DirRecords.open(slow, undefined, true);
    for (let i = 0; i < 20 * 1024; i++) r.record(Buffer.from(`/d${i}`), new Uint8Array(16), TREE);
    release();
    await r.commit(snapshotId(3));
    expect(written.length).toBe(16); // the batches already handed over, then nothing more
    expect(written.flat().some((k) => k[0] === 0x72)).toBe(false); // no note: the run is not trusted
  });
});
