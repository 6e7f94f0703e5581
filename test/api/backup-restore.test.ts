import {
  appendFileSync,
  chmodSync,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  BackupScan,
  backup,
  blake3,
  type CairnEvent,
  listSnapshots,
  type ProgressEvent,
  repositoryStats,
  restore,
  verify,
} from '@cairn/core';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, newRepo, reopen, tempDir } from './helpers.js';
import { compareTrees, describeTree, isRoot, makeEdgeCaseTree, seededBytes } from './tree-fixtures.js';

afterAll(cleanup);

describe('backup and restore of a real tree', () => {
  it('restores every edge case exactly (content, types, modes, owners, times, links, names, sparseness)', async () => {
    const { repo, base } = await newRepo();
    const src = join(base, 'src');
    makeEdgeCaseTree(src);
    const events: CairnEvent[] = [];
    const summary = await backup(repo, { paths: [src], onEvent: (e) => events.push(e) });
    expect(summary.partial).toBe(false);
    expect(summary.errors).toBe(0);
    expect(summary.files.new).toBeGreaterThan(10);
    expect(events[0]?.type).toBe('start');
    expect(events.at(-1)?.type).toBe('summary');

    const target = join(base, 'out');
    const r = await restore(repo, 'latest', { target });
    expect(r.failures).toEqual([]);
    const problems = compareTrees(describeTree(src), describeTree(join(target, src)));
    expect(problems).toEqual([]);
    // The restored sparse file really is sparse, down to the blocks around its data (100 004 bytes
    // in a 40 MiB file): the chunks cut next to its holes are mostly zeros, and those are not
    // written either.
    const st = statSync(join(target, src, 'sparse.img'));
    expect(st.blocks * 512).toBeLessThanOrEqual(256 * 1024);
    await repo.close();
  });

  it('leaves a hole for every whole block of zeros inside data chunks, at any alignment', async () => {
    // Data and zero runs of awkward lengths, so chunks mix both and the runs start and end off
    // the 4 KiB blocks.
    const parts: Buffer[] = [];
    const runs = [1, 4095, 4096, 4097, 8192 + 13, 100_000, 1 << 20, 12_345, 3 << 20];
    runs.forEach((zeros, i) => {
      parts.push(seededBytes(1000 + i * 7919, 40 + i), Buffer.alloc(zeros));
    });
    parts.push(seededBytes(77, 99));
    const content = Buffer.concat(parts);
    // The 4 KiB blocks that hold any data: the least a restore can allocate.
    let dataBlocks = 0;
    for (let at = 0; at < content.length; at += 4096) {
      if (content.subarray(at, at + 4096).some((b) => b !== 0)) dataBlocks++;
    }
    // Chunk boundaries depend on each repository's secret seed: several repositories, so chunks
    // that begin and end in data with zeros between them come up whatever the seeds.
    for (let r = 0; r < 4; r++) {
      const { repo, base } = await newRepo(undefined, {
        chunker: { min: 64 * 1024, avg: 256 * 1024, max: 1024 * 1024 },
      });
      const src = join(base, 'src');
      mkdirSync(src);
      writeFileSync(join(src, 'mixed.img'), content);
      await backup(repo, { paths: [src] });
      for (const threads of [0, 1]) {
        const target = join(base, `out-${threads}`);
        const result = await restore(repo, 'latest', { target, threads });
        expect(result.failures).toEqual([]);
        const out = join(target, src, 'mixed.img');
        expect(readFileSync(out).equals(content)).toBe(true);
        expect(statSync(out).blocks * 512).toBeLessThanOrEqual(dataBlocks * 4096 + 64 * 1024);
      }
      await repo.close();
    }
  });

  it('deduplicates: a lightly changed tree adds only the changed chunks, an unchanged one reads nothing', async () => {
    const { repo, base } = await newRepo();
    const src = join(base, 'src');
    mkdirSync(src);
    for (let i = 0; i < 20; i++) writeFileSync(join(src, `f${i}.bin`), seededBytes(3 * 1024 * 1024, i + 1));
    // A differential with no full snapshot to be based on runs as a full one (and says so).
    mkdirSync(join(base, 'other'));
    const upgraded = await backup(repo, { paths: [join(base, 'other')], kind: 'differential' });
    expect([upgraded.kind, upgraded.parent, upgraded.snapshot.kind]).toEqual(['full', null, 'full']);
    const first = await backup(repo, { paths: [src] });
    expect(first.files.new).toBe(20);
    expect(first.bytes.added).toBeGreaterThanOrEqual(60 * 1024 * 1024);

    // Change 1 file by appending: only its last chunk(s) are new.
    appendFileSync(join(src, 'f3.bin'), Buffer.from('appended'));
    const second = await backup(repo, { paths: [src] });
    expect(second.parent).toBe(first.snapshotId);
    expect(second.files).toEqual({ new: 0, changed: 1, unchanged: 19 });
    expect(second.bytes.read).toBe(3 * 1024 * 1024 + 8);
    expect(second.bytes.added).toBeLessThan(4 * 1024 * 1024 + 100); // at most one max-size chunk
    expect(second.bytes.added).toBeGreaterThan(0);

    const third = await backup(repo, { paths: [src] });
    expect(third.files).toEqual({ new: 0, changed: 0, unchanged: 20 });
    expect(third.bytes.read).toBe(0);
    expect(third.bytes.added).toBe(0);

    // full: reads everything again, trusts nothing from metadata, adds nothing new.
    const full = await backup(repo, { paths: [src], kind: 'full' });
    expect(full.kind).toBe('full');
    expect(full.bytes.read).toBe(60 * 1024 * 1024 + 8);
    expect(full.bytes.added).toBe(0);
    expect(full.files.unchanged).toBe(20);

    // differential: parent is the latest full snapshot, not the latest one.
    writeFileSync(join(src, 'new.txt'), 'new');
    await backup(repo, { paths: [src] });
    const diff = await backup(repo, { paths: [src], kind: 'differential' });
    expect(diff.parent).toBe(full.snapshotId);
    expect(diff.files.new).toBe(1);
    const snaps = await listSnapshots(repo);
    expect(snaps.map((s) => s.kind)).toEqual([
      'full',
      'incremental',
      'incremental',
      'incremental',
      'full',
      'incremental',
      'differential',
    ]);
    await repo.close();
  });

  it('backs up single files as well as trees', async () => {
    const { repo, base } = await newRepo();
    const file = join(base, 'lonely.txt');
    writeFileSync(file, 'just one file');
    const s = await backup(repo, { paths: [file] });
    expect(s.files.new).toBe(1);
    const out = join(base, 'out');
    await restore(repo, 'latest', { target: out });
    expect(readFileSync(join(out, file), 'utf8')).toBe('just one file');
    await repo.close();
  });

  it('refuses to back up when no source path exists, and reports the missing ones otherwise', async () => {
    const { repo, base } = await newRepo();
    await expect(backup(repo, { paths: [join(base, 'nope')] })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await listSnapshots(repo)).toEqual([]);
    writeFileSync(join(base, 'here'), 'x');
    const s = await backup(repo, { paths: [join(base, 'here'), join(base, 'gone')] });
    expect(s.partial).toBe(true);
    expect(s.snapshot.errors.map((e) => e.path)).toEqual([join(base, 'gone')]);
    await repo.close();
  });

  it('detects a file that changes while it is read, reads it again, and flags it when it keeps changing', async () => {
    const { repo } = await newRepo();
    // /proc files report size 0 but have content: every read sees a "change".
    const s = await backup(repo, { paths: ['/proc/version'] });
    expect(s.errors).toBe(1);
    expect(s.partial).toBe(false); // the content was stored; the file is flagged, not missing
    expect(s.snapshot.errors[0]).toMatchObject({ path: '/proc/version', code: 'IO_ERROR' });
    expect(s.snapshot.errors[0]!.message).toMatch(/changed while it was read/);
    expect(s.bytes.read).toBeGreaterThan(0);
    await repo.close();
  });

  it('records snapshot metadata: operator, class, tags, host, kind, parent and statistics', async () => {
    const { repo, base } = await newRepo();
    const src = join(base, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'a'), 'a');
    const s = await backup(repo, {
      paths: [src],
      operator: 'dr. who',
      class: 'critical',
      tags: ['emr', 'daily'],
      host: 'his-01',
    });
    const snap = s.snapshot;
    expect(snap).toMatchObject({
      operator: 'dr. who',
      class: 'critical',
      tags: ['emr', 'daily'],
      host: 'his-01',
      kind: 'incremental',
      parent: null,
      paths: [src],
    });
    expect(snap.programVersion).toMatch(/^cairn \d/);
    expect(snap.stats).toMatchObject({ filesNew: 1, dirs: 1, bytesRead: 1, totalBytes: 1 });
    expect(snap.stats.durationMs).toBeGreaterThanOrEqual(0);
    expect(Date.parse(snap.time)).toBeGreaterThan(Date.now() - 60_000);
    await repo.close();
  });

  it('backs up a named stream (a database dump) and restores it', async () => {
    const { repo, base } = await newRepo();
    const dump = Buffer.concat(
      Array.from({ length: 2000 }, (_, i) => Buffer.from(`INSERT INTO t VALUES (${i}, 'row ${i}');\n`)),
    );
    const s = await backup(repo, {
      stream: { name: 'emr.sql', source: Readable.from([dump.subarray(0, 1000), dump.subarray(1000)]) },
    });
    expect(s.snapshot.paths).toEqual(['/emr.sql']);
    expect(s.bytes.read).toBe(dump.length);
    const out = join(base, 'out');
    await restore(repo, s.snapshotId, { target: out });
    expect(readFileSync(join(out, 'emr.sql')).equals(dump)).toBe(true);
    expect(s.files).toEqual({ new: 1, changed: 0, unchanged: 0 });
    // The next dump of the same name is changed or unchanged against the parent's.
    const again = await backup(repo, { stream: { name: 'emr.sql', source: Readable.from([dump]) } });
    expect([again.parent, again.files]).toEqual([s.snapshotId, { new: 0, changed: 0, unchanged: 1 }]);
    const grown = Buffer.concat([dump, Buffer.from('INSERT INTO t VALUES (-1);\n')]);
    const third = await backup(repo, { stream: { name: 'emr.sql', source: Readable.from([grown]) } });
    expect(third.files).toEqual({ new: 0, changed: 1, unchanged: 0 });
    const other = await backup(repo, { stream: { name: 'lis.sql', source: Readable.from([dump]) } });
    expect(other.files).toEqual({ new: 1, changed: 0, unchanged: 0 });
    await repo.close();
  });

  it('excludes by glob and by exclude file, and keeps the source path itself', async () => {
    const { repo, base } = await newRepo();
    const src = join(base, 'src');
    mkdirSync(join(src, 'cache', 'x'), { recursive: true });
    mkdirSync(join(src, 'keep'), { recursive: true });
    writeFileSync(join(src, 'keep', 'a.txt'), 'a');
    writeFileSync(join(src, 'keep', 'b.tmp'), 'b');
    writeFileSync(join(src, 'cache', 'x', 'c'), 'c');
    writeFileSync(join(src, 'keep', 'secret.key'), 'k');
    const excludeFile = join(base, 'excludes');
    writeFileSync(excludeFile, '# comments are ignored\n*.key\n');
    await backup(repo, { paths: [src], excludes: ['*.tmp', `${src}/cache`], excludeFiles: [excludeFile] });
    const out = join(base, 'out');
    await restore(repo, 'latest', { target: out });
    expect(readdirSync(join(out, src)).sort()).toEqual(['keep']);
    expect(readdirSync(join(out, src, 'keep'))).toEqual(['a.txt']);
    await repo.close();
  });

  it('stores every tree of a tree of many directories once, sealed by the content workers', async () => {
    const { repo, base } = await newRepo();
    const src = join(base, 'src');
    // 600 directories: 200 empty ones (one and the same tree blob), 400 with a file each, and
    // enough data that the content workers run (trees are sealed there once they do).
    for (let i = 0; i < 200; i++) mkdirSync(join(src, 'empty', `e${i}`), { recursive: true });
    for (let i = 0; i < 400; i++) {
      mkdirSync(join(src, 'full', `d${i}`, 'sub'), { recursive: true });
      writeFileSync(join(src, 'full', `d${i}`, 'sub', 'f.txt'), `file ${i}\n`);
    }
    writeFileSync(join(src, 'big.bin'), seededBytes(8 * 1024 * 1024, 7));
    const summary = await backup(repo, { paths: [src] });
    expect(summary.dirs).toBe(1 + 1 + 200 + 1 + 800);
    const report = await verify(repo, { readData: true });
    expect(report.problems).toEqual([]);
    // One tree per distinct directory: the empty ones share one, each d<i> and its sub differ,
    // plus one for each directory on the way to src (the root included).
    const above = src.split('/').filter(Boolean).length;
    const stats = await repositoryStats(repo);
    expect(stats.treeBlobs).toBe(above + 1 + 1 + 1 + 1 + 800); // src, empty, e* (one), full, d* and sub
    const out = join(base, 'out');
    await restore(repo, 'latest', { target: out });
    expect(compareTrees(describeTree(src), describeTree(join(out, src)))).toEqual([]);
    await repo.close();
  });

  it('uses a totals scan started before the repository was opened, only for the same scope, and stops it', async () => {
    const base = tempDir();
    const src = join(base, 'src');
    mkdirSync(join(src, 'd'), { recursive: true });
    for (let i = 0; i < 5; i++) writeFileSync(join(src, 'd', `f${i}.txt`), 'x'.repeat(100 * (i + 1)));
    writeFileSync(join(src, 'skip.tmp'), 'y'.repeat(7));
    // As the CLI does: the count starts, then the repository is opened (its key derived).
    const scan = BackupScan.start({ paths: [src], excludes: ['*.tmp'] });
    const { repo } = await newRepo(base);
    const events: CairnEvent[] = [];
    await backup(repo, { paths: [src], excludes: ['*.tmp'], scan, onEvent: (e) => events.push(e) });
    const last = events.filter((e) => e.type === 'progress').at(-1) as ProgressEvent;
    expect(last).toMatchObject({ filesTotal: 5, bytesTotal: 1500, totalsFinal: true, filesDone: 5 });
    expect(await scan.finished).toEqual({ files: 5, bytes: 1500 });

    // The backup's totals are that scan's (a held one stays unfinished), and the backup stops it.
    const held = BackupScan.start({ paths: [src], excludes: ['*.tmp'] });
    held.holdUntil(new Promise(() => {}));
    events.length = 0;
    await backup(repo, { paths: [src], excludes: ['*.tmp'], scan: held, onEvent: (e) => events.push(e) });
    expect(events.filter((e) => e.type === 'progress').at(-1)).toMatchObject({ filesTotal: 0, totalsFinal: false });
    expect(await held.finished).toEqual({ files: 0, bytes: 0 });

    // Another scope: refused before anything is stored, and that scan is stopped too.
    const other = BackupScan.start({ paths: [src] });
    await expect(backup(repo, { paths: [src], excludes: ['*.tmp'], scan: other })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    other.holdUntil(new Promise(() => {})); // were it still running, only its stop would end it
    await other.finished;
    expect(await listSnapshots(repo)).toHaveLength(2);
    await repo.close();
  });

  it('restores only the included paths, refuses conflicts, overwrites on request, and resumes', async () => {
    const { repo, base } = await newRepo();
    const src = join(base, 'src');
    makeEdgeCaseTree(src, { bigSize: 6 * 1024 * 1024 });
    await backup(repo, { paths: [src] });
    const out = join(base, 'out');

    const part = await restore(repo, 'latest', { target: out, include: [join(src, 'nested')] });
    expect(part.failures).toEqual([]);
    expect(readdirSync(join(out, src)).sort()).toEqual(['nested']);
    // Include paths the snapshot does not hold: an error if none is there, a failure each otherwise.
    await expect(
      restore(repo, 'latest', { target: join(base, 'none'), include: [join(src, 'gone')] }),
    ).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    expect(existsSync(join(base, 'none'))).toBe(false);
    const some = await restore(repo, 'latest', {
      target: join(base, 'some'),
      include: [join(src, 'gone'), join(src, 'small.txt')],
    });
    expect(some.failures).toEqual([expect.objectContaining({ path: join(src, 'gone'), code: 'NOT_FOUND' })]);
    expect(some.files.restored).toBe(1);

    // Full restore over the partial one: the files already there are verified and skipped.
    const full = await restore(repo, 'latest', { target: out });
    expect(full.failures).toEqual([]);
    expect(full.files.skipped).toBeGreaterThanOrEqual(1);
    expect(compareTrees(describeTree(src), describeTree(join(out, src)))).toEqual([]);

    // A changed file is a conflict; nothing is written.
    writeFileSync(join(out, src, 'small.txt'), 'changed locally');
    rmSync(join(out, src, 'text.log'));
    await expect(restore(repo, 'latest', { target: out })).rejects.toMatchObject({
      code: 'RESTORE_CONFLICT',
      message: expect.stringContaining('1 entry already exists in the target and differs from the snapshot'),
    });
    expect(existsSync(join(out, src, 'text.log'))).toBe(false);
    // Two are counted and listed as such.
    const note = join(out, src, 'nested', 'deeper', 'deepest', 'note.txt');
    const noteBytes = readFileSync(note);
    writeFileSync(note, 'changed too');
    await expect(restore(repo, 'latest', { target: out })).rejects.toMatchObject({
      code: 'RESTORE_CONFLICT',
      message: expect.stringContaining('2 entries already exist in the target and differ from the snapshot'),
      details: { conflicts: expect.arrayContaining([note, join(out, src, 'small.txt')]) },
    });
    writeFileSync(note, noteBytes);

    const over = await restore(repo, 'latest', { target: out, overwrite: true });
    expect(over.failures).toEqual([]);
    expect(compareTrees(describeTree(src), describeTree(join(out, src)))).toEqual([]);
    await repo.close();
  });

  it('refuses a file of the same size with other content before writing anything', async () => {
    const { repo, base } = await newRepo();
    const src = join(base, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'a.txt'), 'original content\n');
    writeFileSync(join(src, 'b.txt'), 'second file\n');
    await backup(repo, { paths: [src] });
    const out = join(base, 'out');
    mkdirSync(join(out, src), { recursive: true });
    writeFileSync(join(out, src, 'a.txt'), 'EVIL CONTENT HER\n'); // same size, another mtime
    await expect(restore(repo, 'latest', { target: out })).rejects.toMatchObject({
      code: 'RESTORE_CONFLICT',
      details: { conflicts: [join(out, src, 'a.txt')] },
    });
    expect(existsSync(join(out, src, 'b.txt'))).toBe(false);
    // The same bytes with another time (a copy, or a target that keeps coarser times) is no conflict.
    writeFileSync(join(out, src, 'a.txt'), 'original content\n');
    const r = await restore(repo, 'latest', { target: out });
    expect(r.failures).toEqual([]);
    expect(r.files).toEqual({ restored: 1, skipped: 1, failed: 0 });
    expect(r.bytes).toEqual({ written: 12, skipped: 17, total: 29 });
    const us = (p: string) => statSync(p, { bigint: true }).mtimeNs / 1000n;
    expect(us(join(out, src, 'a.txt'))).toBe(us(join(src, 'a.txt')));
    await repo.close();
  });

  it('does not link the other names of a hard-link group to a first name that failed', async () => {
    const { repo, base } = await newRepo();
    const src = join(base, 'src');
    mkdirSync(src);
    const bytes = seededBytes(300_000, 7);
    writeFileSync(join(src, 'a-first'), bytes);
    linkSync(join(src, 'a-first'), join(src, 'b-second'));
    await backup(repo, { paths: [src] });
    // Damage the file's data: the largest pack holds it (tree blobs are small).
    const packs = readdirSync(join(base, 'repo', 'data'), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name))
      .sort((x, y) => statSync(y).size - statSync(x).size);
    const pack = packs[0]!;
    const damaged = readFileSync(pack);
    damaged[150_000]! ^= 0xff;
    chmodSync(pack, 0o600);
    writeFileSync(pack, damaged);
    // Something else already sits at the first name; with overwrite it would be replaced.
    const out = join(base, 'out');
    mkdirSync(join(out, src), { recursive: true });
    writeFileSync(join(out, src, 'a-first'), Buffer.alloc(bytes.length));
    const r = await restore(repo, 'latest', { target: out, overwrite: true });
    expect(r.failures.map((f) => [f.path, f.code])).toEqual([
      [join(src, 'a-first'), 'AUTH_FAILED'],
      [join(src, 'b-second'), 'AUTH_FAILED'],
    ]);
    expect(r.files).toEqual({ restored: 0, skipped: 0, failed: 2 });
    expect(existsSync(join(out, src, 'b-second'))).toBe(false);
    await repo.close();
  });

  it('restores files named like its own temporary files (a snapshot of an interrupted restore)', async () => {
    const { repo, base } = await newRepo();
    const src = join(base, 'src');
    mkdirSync(src);
    // A restore writes report.pdf as .cairn-restore-<first 8 bytes of BLAKE3(name), hex> first.
    const temp = (name: string) => `.cairn-restore-${Buffer.from(blake3(Buffer.from(name))).toString('hex', 0, 8)}`;
    const files: Record<string, Buffer> = {
      'report.pdf': seededBytes(200_000, 1),
      [temp('report.pdf')]: seededBytes(150_000, 2), // left over from an interrupted restore
      'scan.dcm': seededBytes(3_000_000, 3),
      [temp('scan.dcm')]: seededBytes(1_000_000, 4),
      '.cairn-restore1-x': seededBytes(1000, 5),
    };
    for (const [name, bytes] of Object.entries(files)) writeFileSync(join(src, name), bytes);
    await backup(repo, { paths: [src] });
    for (const threads of [0, 1]) {
      const out = join(base, `out-${threads}`);
      const r = await restore(repo, 'latest', { target: out, threads });
      expect(r.failures).toEqual([]);
      expect(readdirSync(join(out, src)).sort()).toEqual(Object.keys(files).sort());
      for (const [name, bytes] of Object.entries(files)) {
        expect(readFileSync(join(out, src, name)).equals(bytes), name).toBe(true);
      }
    }
    await repo.close();
  });

  it('never writes through a symlink found in the target', async () => {
    const { repo, base } = await newRepo();
    const src = join(base, 'src');
    mkdirSync(join(src, 'dir'), { recursive: true });
    writeFileSync(join(src, 'dir', 'file'), 'payload');
    await backup(repo, { paths: [src] });
    const out = join(base, 'out');
    const outside = join(base, 'outside');
    mkdirSync(outside);
    mkdirSync(join(out, src), { recursive: true });
    symlinkSync(outside, join(out, src, 'dir')); // dir -> outside
    await expect(restore(repo, 'latest', { target: out })).rejects.toMatchObject({ code: 'RESTORE_CONFLICT' });
    const r = await restore(repo, 'latest', { target: out, overwrite: true });
    expect(r.failures).toEqual([]);
    expect(readdirSync(outside)).toEqual([]);
    expect(statSync(join(out, src, 'dir')).isDirectory()).toBe(true);
    expect(readFileSync(join(out, src, 'dir', 'file'), 'utf8')).toBe('payload');
    await repo.close();
  });

  it('cancels through an AbortSignal: no snapshot, no lock, and the next run reuses the stored data', async () => {
    const { repo, base } = await newRepo();
    const src = join(base, 'src');
    mkdirSync(src);
    for (let i = 0; i < 8; i++) writeFileSync(join(src, `f${i}.bin`), seededBytes(16 * 1024 * 1024, 100 + i));
    const ac = new AbortController();
    let stored = 0;
    const run = backup(repo, {
      paths: [src],
      signal: ac.signal,
      onEvent: (e) => {
        if (e.type === 'progress' && e.bytesDone > 40 * 1024 * 1024) ac.abort();
        if (e.type === 'progress') stored = e.bytesDone;
      },
    });
    await expect(run).rejects.toMatchObject({ code: 'ABORTED' });
    expect(stored).toBeGreaterThan(0);
    expect(await listSnapshots(repo)).toEqual([]);
    expect(readdirSync(join(base, 'repo', 'locks'))).toEqual([]);
    await repo.close();

    const again = await reopen(base);
    const done = await backup(again, { paths: [src] });
    expect(done.bytes.added).toBeLessThan(128 * 1024 * 1024); // some data was kept from the cancelled run
    const out = join(base, 'out');
    await restore(again, 'latest', { target: out });
    expect(compareTrees(describeTree(src), describeTree(join(out, src)))).toEqual([]);
    await again.close();
  });

  it.runIf(isRoot)('with --one-file-system, does not descend into other file systems', async () => {
    const { execFileSync } = await import('node:child_process');
    const { repo, base } = await newRepo();
    const src = join(base, 'src');
    mkdirSync(join(src, 'mnt'), { recursive: true });
    writeFileSync(join(src, 'a'), 'a');
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', join(src, 'mnt')], { stdio: 'ignore' });
    } catch {
      return; // mount not permitted here
    }
    try {
      writeFileSync(join(src, 'mnt', 'inside'), 'x');
      await backup(repo, { paths: [src], oneFileSystem: true });
      const out = join(base, 'out');
      await restore(repo, 'latest', { target: out });
      expect(readdirSync(join(out, src)).sort()).toEqual(['a', 'mnt']);
      expect(readdirSync(join(out, src, 'mnt'))).toEqual([]);
    } finally {
      execFileSync('umount', [join(src, 'mnt')]);
    }
    await repo.close();
  });
});

describe('excludes and --one-file-system as restic has them', () => {
  /** Relative paths of everything restored under `dir`, sorted. */
  const listTree = (dir: string, rel = ''): string[] =>
    readdirSync(join(dir, rel), { withFileTypes: true }).flatMap((e) => {
      const p = rel ? `${rel}/${e.name}` : e.name;
      return e.isDirectory() ? [p, ...listTree(dir, p)] : [p];
    });
  const restored = async (repo: Awaited<ReturnType<typeof newRepo>>['repo'], base: string, src: string) => {
    const out = join(base, `out-${Math.random().toString(36).slice(2)}`);
    await restore(repo, 'latest', { target: out });
    return listTree(join(out, src)).sort();
  };

  it('a "!" pattern re-includes what an earlier one excluded, and alone excludes nothing', async () => {
    const { repo, base } = await newRepo();
    const src = join(base, 'src');
    mkdirSync(join(src, 'keep'), { recursive: true });
    mkdirSync(join(src, 'logs'), { recursive: true });
    for (const f of ['top.txt', 'y.bin', 'keep/a.txt', 'keep/b.log', 'logs/c.log']) writeFileSync(join(src, f), f);
    const all = ['keep', 'keep/a.txt', 'keep/b.log', 'logs', 'logs/c.log', 'top.txt', 'y.bin'];
    // Given to picomatch as is, '!*.txt' meant "everything but *.txt": the backup was all but empty.
    await backup(repo, { paths: [src], excludes: ['!*.txt'] });
    expect(await restored(repo, base, src)).toEqual(all);
    // The last matching pattern decides; '!keep' matches keep/ and so everything in it.
    const excludeFile = join(base, 'excludes');
    writeFileSync(excludeFile, '*.log\n!keep\n');
    await backup(repo, { paths: [src], excludes: ['*.txt', '!top.txt'], excludeFiles: [excludeFile] });
    expect(await restored(repo, base, src)).toEqual(['keep', 'keep/a.txt', 'keep/b.log', 'logs', 'top.txt', 'y.bin']);
    // An excluded directory is not read: nothing in it comes back (as in restic).
    await backup(repo, { paths: [src], excludes: ['keep', '!keep/a.txt'] });
    expect(await restored(repo, base, src)).toEqual(['logs', 'logs/c.log', 'top.txt', 'y.bin']);
    // A lone '!' is refused before anything is written.
    await expect(backup(repo, { paths: [src], excludes: ['!'] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect((await listSnapshots(repo)).length).toBe(3);
    await repo.close();
  });

  it('a relative pattern with a slash matches the trailing part of the path, at any depth', async () => {
    const { repo, base } = await newRepo();
    const src = join(base, 'src');
    mkdirSync(join(src, 'ex', 'a', 'cache', 'deep'), { recursive: true });
    mkdirSync(join(src, 'other', 'cache'), { recursive: true });
    mkdirSync(join(src, 'b', 'a'), { recursive: true });
    for (const f of ['ex/a/cache/deep/f', 'other/cache/g', 'b/a/h', 'top']) writeFileSync(join(src, f), f);
    await backup(repo, { paths: [src], excludes: ['a/cache'] });
    expect(await restored(repo, base, src)).toEqual([
      'b',
      'b/a',
      'b/a/h',
      'ex',
      'ex/a',
      'other',
      'other/cache',
      'other/cache/g',
      'top',
    ]);
    await backup(repo, { paths: [src], excludes: ['cache/*', 'b/a/'] });
    expect(await restored(repo, base, src)).toEqual(['b', 'ex', 'ex/a', 'ex/a/cache', 'other', 'other/cache', 'top']);
    // A leading slash still anchors.
    await backup(repo, { paths: [src], excludes: ['/ex/a'] });
    expect((await restored(repo, base, src)).length).toBe(12);
    await repo.close();
  });

  it.runIf(isRoot)('with --one-file-system, enters the file system of every path given, as restic does', async () => {
    const { execFileSync } = await import('node:child_process');
    const { repo, base } = await newRepo();
    const src = join(base, 'src');
    const mnt = join(src, 'mnt');
    const other = join(base, 'other');
    mkdirSync(mnt, { recursive: true });
    mkdirSync(join(src, 'bind'), { recursive: true });
    mkdirSync(other, { recursive: true });
    writeFileSync(join(src, 'a'), 'a');
    const mounted: string[] = [];
    try {
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt], { stdio: 'ignore' });
        mounted.unshift(mnt);
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', other], { stdio: 'ignore' });
        mounted.unshift(other);
        execFileSync('mount', ['--bind', other, join(src, 'bind')], { stdio: 'ignore' });
        mounted.unshift(join(src, 'bind'));
      } catch {
        return; // mount not permitted here
      }
      mkdirSync(join(mnt, 'deep'));
      writeFileSync(join(mnt, 'inside'), 'x');
      writeFileSync(join(mnt, 'deep', 'f'), 'f');
      writeFileSync(join(other, 'o'), 'o');
      // The mount point named as a path: stored with its content (it was stored empty).
      await backup(repo, { paths: [mnt, src], oneFileSystem: true });
      expect(await restored(repo, base, src)).toEqual(['a', 'bind', 'mnt', 'mnt/deep', 'mnt/deep/f', 'mnt/inside']);
      // The totals count the same files, each once.
      expect((await BackupScan.start({ paths: [mnt, src], oneFileSystem: true }).finished).files).toBe(3);
      // A path inside a mount point that is not entered: only the way to it is stored.
      await backup(repo, { paths: [src, join(mnt, 'deep')], oneFileSystem: true });
      expect(await restored(repo, base, src)).toEqual(['a', 'bind', 'mnt', 'mnt/deep', 'mnt/deep/f']);
      // Each path bounds the walk below it to its own device: bind/ (the device of `other`) is
      // not entered from src, as restic does.
      await backup(repo, { paths: [src, other], oneFileSystem: true });
      expect(await restored(repo, base, src)).toEqual(['a', 'bind', 'mnt']);
      expect(await restored(repo, base, other)).toEqual(['o']);
      // Without the option, everything.
      await backup(repo, { paths: [src] });
      expect(await restored(repo, base, src)).toEqual([
        'a',
        'bind',
        'bind/o',
        'mnt',
        'mnt/deep',
        'mnt/deep/f',
        'mnt/inside',
      ]);
    } finally {
      for (const m of mounted) execFileSync('umount', [m]);
    }
    await repo.close();
  });
});

describe('backup paths', () => {
  it('a path given twice is recorded once, and the next backup of it finds its parent', async () => {
    const { repo, base } = await newRepo();
    const src = join(base, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'a'), 'a');
    const first = await backup(repo, { paths: [src, `${src}/`, src] });
    const second = await backup(repo, { paths: [src] });
    const snaps = await listSnapshots(repo);
    expect(snaps.map((s) => s.paths)).toEqual([[src], [src]]);
    expect(snaps[1]!.parent).toBe(first.snapshotId);
    expect(second.files).toMatchObject({ unchanged: 1, new: 0 });
    await repo.close();
  });
});
