/**
 * Every command on real data in a real disk repository, checking its effect: backup (tags,
 * operator, class, kinds, excludes, stdin), snapshots, ls, diff, restore, cat, stats, key,
 * repair index, the cache folder, and the host filters of snapshots and restore.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BackupSummaryLine,
  baseEnv,
  CAIRN,
  expectCode,
  jsonLines,
  names,
  PASSWORD,
  readTree,
  Sandbox,
  writeTree,
} from './helpers.js';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
const HEX64 = /^[0-9a-f]{64}$/;

let box: Sandbox;
let repoId: string;
let src: string;
const big = randomBytes(2 * 1024 * 1024 + 123);

beforeAll(async () => {
  box = await Sandbox.create();
  repoId = await box.init();
  src = box.path('src');
  await writeTree(src, {
    'docs/readme.txt': 'hello, cairn\n',
    'docs/notes.md': '# notes\n',
    'data/big.bin': big,
    'logs/app.log': 'log line\n'.repeat(100),
    link: { symlink: 'docs/readme.txt' },
  });
});
afterAll(async () => {
  await box.remove();
});

describe('backup and snapshots', () => {
  let first: BackupSummaryLine;

  beforeAll(async () => {
    first = await box.backup(['--tag', 'weekly', '--tag', 'emr', '--operator', 'alice', '--class', 'critical', 'src']);
  });

  it('records tags, operator, class, host, time and the absolute paths', async () => {
    expect(first.snapshotId).toMatch(HEX64);
    expect(first.files).toEqual({ new: 4, changed: 0, unchanged: 0 });
    expect(first.bytes.read).toBe(big.length + 13 + 8 + 900);
    const s = (await box.snapshots()).find((x) => x.id === first.snapshotId);
    expect(s).toMatchObject({
      host: hostname(),
      operator: 'alice',
      paths: [src],
      tags: ['weekly', 'emr'],
      class: 'critical',
      kind: 'incremental',
      parent: null,
      partial: false,
    });
    expect(s?.time).toMatch(ISO);
    expect(Math.abs(Date.parse(s!.time) - Date.now())).toBeLessThan(120_000);
    expect(s?.stats).toMatchObject({ filesNew: 4, totalBytes: first.bytes.read });
  });

  it('the human listing shows the snapshot; filters select', async () => {
    const r = await box.run(['snapshots']);
    expectCode(r, 0);
    const row = r.stdout.split('\n').find((l) => l.startsWith(first.snapshotId.slice(0, 8)));
    expect(row).toBeDefined();
    expect(row).toContain('critical');
    expect(row).toContain('alice');
    expect(row).toContain('weekly,emr');
    expect(row).toContain(src);
    const byTag = JSON.parse((await box.run(['snapshots', '--json', '--tag', 'emr'])).stdout) as { id: string }[];
    expect(byTag.map((s) => s.id)).toEqual([first.snapshotId]);
    const none = JSON.parse((await box.run(['snapshots', '--json', '--tag', 'nope'])).stdout) as unknown[];
    expect(none).toEqual([]);
  });

  it('plain (non-terminal) output is a short summary; --quiet prints nothing', async () => {
    const r = await box.run(['backup', 'src/docs']);
    expectCode(r, 0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^snapshot [0-9a-f]{8} saved \(incremental\)$/);
    expect(lines[1]).toBe('files: 2 new, 0 changed, 0 unchanged; 1 directories');
    expect(lines).toHaveLength(3);
    const q = await box.run(['backup', '--quiet', 'src/docs']);
    expectCode(q, 0);
    expect(q.stdout).toBe('');
    expect(q.stderr).toBe('');
  });

  it('--exclude leaves matching files out', async () => {
    const s = await box.backup(['--exclude', '*.log', 'src']);
    const r = await box.run(['ls', s.snapshotId]);
    expectCode(r, 0);
    expect(r.stdout).toContain(`${src}/docs/readme.txt\n`);
    expect(r.stdout).not.toContain('app.log');
    expect(s.files.new + s.files.changed + s.files.unchanged).toBe(3);
  });

  it('--stdin stores standard input as one named file', async () => {
    const dump = Buffer.concat([Buffer.from('-- SQL dump\n'), randomBytes(300_000)]);
    const r = await box.run(['backup', '--json', '--stdin', '--stdin-name', 'emr.sql', '--tag', 'db'], {
      input: dump,
    });
    expectCode(r, 0);
    const summary = jsonLines(r.stdout).find((e) => e.type === 'summary') as unknown as BackupSummaryLine;
    expect(summary.bytes.read).toBe(dump.length);
    const ls = await box.run(['ls', '--json', summary.snapshotId]);
    expect(jsonLines(ls.stdout)).toMatchObject([{ path: '/emr.sql', type: 'file', size: dump.length }]);
    const target = box.path('restore-stdin');
    expectCode(await box.run(['restore', summary.snapshotId, '--target', target]), 0);
    expect((await fsp.readFile(join(target, 'emr.sql'))).equals(dump)).toBe(true);
  });
});

describe('backup kinds', () => {
  it('full, incremental and differential choose their parents and read what they must', async () => {
    const dir = box.path('kinds');
    await writeTree(dir, { 'a.txt': 'version 1 of a\n', 'b.bin': randomBytes(100_000) });
    const total = 15 + 100_000;

    const full = await box.backup(['--kind', 'full', dir]);
    expect(full).toMatchObject({ kind: 'full', parent: null, files: { new: 2, changed: 0, unchanged: 0 } });
    expect(full.bytes.read).toBe(total);

    const same = await box.backup([dir]);
    expect(same).toMatchObject({ kind: 'incremental', parent: full.snapshotId });
    expect(same.files).toEqual({ new: 0, changed: 0, unchanged: 2 });
    expect(same.bytes.read).toBe(0); // unchanged files are not read again
    expect(same.bytes.added).toBe(0);

    await fsp.writeFile(join(dir, 'a.txt'), 'version 2 of a, longer\n');
    const incr = await box.backup([dir]);
    expect(incr).toMatchObject({ kind: 'incremental', parent: same.snapshotId });
    expect(incr.files).toEqual({ new: 0, changed: 1, unchanged: 1 });
    expect(incr.bytes.read).toBe(23);

    const diff = await box.backup(['--kind', 'differential', dir]);
    expect(diff).toMatchObject({ kind: 'differential', parent: full.snapshotId }); // the last full one
    expect(diff.files).toEqual({ new: 0, changed: 1, unchanged: 1 });

    const again = await box.backup(['--kind', 'full', dir]);
    expect(again).toMatchObject({ kind: 'full', files: { new: 0, changed: 0, unchanged: 2 } });
    expect(again.bytes.read).toBe(23 + 100_000); // every file read again...
    expect(again.bytes.added).toBe(0); // ...and deduplicated

    const listed = new Map((await box.snapshots()).map((s) => [s.id, s]));
    expect(listed.get(diff.snapshotId)).toMatchObject({ kind: 'differential', parent: full.snapshotId });
    expect(listed.get(again.snapshotId)?.kind).toBe('full');
  });
});

describe('ls, cat and diff', () => {
  let snap: BackupSummaryLine;
  beforeAll(async () => {
    snap = await box.backup(['src']);
  });

  it('ls lists every path, below PATH only when given, by id prefix or "latest"', async () => {
    const all = await box.run(['ls', snap.snapshotId.slice(0, 10)]);
    expectCode(all, 0);
    const paths = all.stdout.trim().split('\n');
    expect(paths).toEqual(
      expect.arrayContaining([
        src,
        `${src}/data/big.bin`,
        `${src}/docs`,
        `${src}/docs/notes.md`,
        `${src}/docs/readme.txt`,
        `${src}/link`,
        `${src}/logs/app.log`,
      ]),
    );
    const sub = await box.run(['ls', snap.snapshotId, `${src}/docs`]);
    expectCode(sub, 0);
    expect(sub.stdout.trim().split('\n')).toEqual([`${src}/docs`, `${src}/docs/notes.md`, `${src}/docs/readme.txt`]);
    const missing = await box.run(['ls', snap.snapshotId, `${src}/nope`]);
    expectCode(missing, 1);
    expect(missing.stderr).toContain('not found in the snapshot');
  });

  it('ls -l shows type, mode, size and symlink targets; ls --json one object per entry', async () => {
    const long = await box.run(['ls', '-l', snap.snapshotId, src]);
    expectCode(long, 0);
    expect(long.stdout).toMatch(new RegExp(`^l[rwx-]{9} .*${src}/link -> docs/readme\\.txt$`, 'm'));
    expect(long.stdout).toMatch(new RegExp(`^-rw-r--r-- .* 2\\.00 MiB .*${src}/data/big\\.bin$`, 'm'));
    expect(long.stdout).toMatch(new RegExp(`^d[rwx-]{9} .*${src}/docs$`, 'm'));
    const json = jsonLines((await box.run(['ls', '--json', snap.snapshotId, src])).stdout);
    const byPath = new Map(json.map((e) => [e.path, e]));
    expect(byPath.get(`${src}/data/big.bin`)).toMatchObject({ type: 'file', size: big.length });
    expect(byPath.get(`${src}/link`)).toMatchObject({ type: 'symlink', target: 'docs/readme.txt' });
    expect(byPath.get(`${src}/docs`)).toMatchObject({ type: 'dir' });
    expect(String(byPath.get(`${src}/docs`)?.mtime)).toMatch(/^\d{4}-\d\d-\d\dT.*Z$/);
  });

  it('cat config and cat snapshot print the decrypted JSON', async () => {
    const config = await box.run(['cat', 'config']);
    expectCode(config, 0);
    expect(JSON.parse(config.stdout)).toMatchObject({ id: repoId, compression: 'lz4', chunker: { min: 262144 } });
    const s = await box.run(['cat', 'snapshot', snap.snapshotId.slice(0, 12)]);
    expectCode(s, 0);
    expect(JSON.parse(s.stdout)).toMatchObject({ id: snap.snapshotId, paths: [src], kind: 'incremental' });
    const bad = await box.run(['cat', 'keys']);
    expectCode(bad, 1);
    expect(bad.stderr).toContain('cannot cat "keys"');
  });

  it('diff shows added, removed and modified paths', async () => {
    const dir = box.path('difftree');
    await writeTree(dir, { 'keep.txt': 'same\n', 'gone.txt': 'bye\n', 'edit.txt': 'before\n', 'sub/x': 'x' });
    const a = await box.backup([dir]);
    await fsp.rm(join(dir, 'gone.txt'));
    await fsp.writeFile(join(dir, 'edit.txt'), 'after, and longer\n');
    await writeTree(dir, { 'new.txt': 'hello\n' });
    const b = await box.backup([dir]);

    const r = await box.run(['diff', a.snapshotId.slice(0, 8), b.snapshotId]);
    expectCode(r, 0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toContain(`M    ${dir}/edit.txt`);
    expect(lines).toContain(`-    ${dir}/gone.txt`);
    expect(lines).toContain(`+    ${dir}/new.txt`);
    expect(r.stdout).not.toContain('keep.txt');
    expect(r.stdout).not.toContain('sub/x');
    expect(lines.at(-1)).toMatch(/^1 added, 1 removed, 1 modified, 0 changed type, \d+ metadata only; \+/);

    const j = jsonLines((await box.run(['diff', '--json', a.snapshotId, b.snapshotId])).stdout);
    const changes = j.filter((e) => e.type === 'change').map((e) => `${e.change} ${e.path}`);
    expect(changes).toEqual(expect.arrayContaining([`M ${dir}/edit.txt`, `- ${dir}/gone.txt`, `+ ${dir}/new.txt`]));
    expect(j.at(-1)).toMatchObject({
      type: 'summary',
      operation: 'diff',
      from: a.snapshotId,
      to: b.snapshotId,
      added: 1,
      removed: 1,
      modified: 1,
      bytesAdded: 6 + 18,
      bytesRemoved: 4 + 7,
    });

    const none = await box.run(['diff', b.snapshotId, 'latest']);
    expectCode(none, 0);
    expect(none.stdout.trim()).toMatch(/^0 added, 0 removed, 0 modified, 0 changed type, 0 metadata only/);
  });
});

describe('--quiet hides status and progress, never the output asked for', () => {
  let first: BackupSummaryLine;
  let second: BackupSummaryLine;
  beforeAll(async () => {
    first = await box.backup(['src/docs']);
    await writeTree(src, { 'docs/extra.txt': 'more\n' });
    second = await box.backup(['src/docs']);
  });
  afterAll(async () => {
    await fsp.rm(join(src, 'docs/extra.txt'), { force: true });
  });

  it.each([
    ['snapshots', () => ['snapshots']],
    ['ls', () => ['ls', 'latest']],
    ['ls -l', () => ['ls', '-l', 'latest']],
    ['diff', () => ['diff', first.snapshotId, second.snapshotId]],
    ['stats', () => ['stats']],
    ['stats SNAPSHOT', () => ['stats', 'latest']],
    ['key list', () => ['key', 'list']],
    ['cat config', () => ['cat', 'config']],
  ])('%s prints the same with -q as without', async (_title, args) => {
    const plain = await box.run(args());
    expectCode(plain, 0);
    expect(plain.stdout.trim()).not.toBe('');
    for (const q of ['-q', '--quiet']) {
      const quiet = await box.run([...args(), q]);
      expectCode(quiet, 0);
      expect(quiet.stdout).toBe(plain.stdout);
    }
  });
});

describe('restore', () => {
  let snap: BackupSummaryLine;
  beforeAll(async () => {
    snap = await box.backup(['src']);
  });

  it('restores everything below the target, recreating the absolute paths', async () => {
    const target = box.path('restore-all');
    const r = await box.run(['restore', snap.snapshotId, '--target', target]);
    expectCode(r, 0);
    expect(r.stdout).toContain(`restored snapshot ${snap.snapshotId.slice(0, 8)} to ${target}`);
    expect(r.stdout).toContain('files: 4 restored, 0 already complete, 0 failed');
    expect(await readTree(join(target, src))).toEqual(await readTree(src));
    expect((await fsp.lstat(join(target, src, 'link'))).isSymbolicLink()).toBe(true);
  });

  it('--include restores only the given paths', async () => {
    const target = box.path('restore-some');
    const r = await box.run(['restore', 'latest', '-t', target, '--include', `${src}/docs`, '-i', `${src}/link`]);
    expectCode(r, 0);
    expect(await names(join(target, src))).toEqual(['docs', 'link']);
    expect(await readTree(join(target, src, 'docs'))).toEqual(await readTree(join(src, 'docs')));
  });

  it('--include of paths the snapshot does not hold: an error when none is there, a failure each otherwise', async () => {
    const none = box.path('restore-none');
    const r = await box.run(['restore', 'latest', '-t', none, '--include', `${src}/no-such-dir`]);
    expectCode(r, 1);
    expect(r.stderr).toMatch(/nothing to restore: .*no-such-dir is not in snapshot [0-9a-f]{8} \(its paths: /);
    expect(existsSync(none)).toBe(false); // nothing created

    const some = box.path('restore-part');
    const p = await box.run(['restore', 'latest', '-t', some, '-i', `${src}/docs`, '-i', `${src}/no-such-dir`]);
    expectCode(p, 3);
    expect(p.stderr).toContain(`${src}/no-such-dir: not in snapshot`);
    expect(await readTree(join(some, src, 'docs'))).toEqual(await readTree(join(src, 'docs')));
  });

  it('a second run over a finished restore (symlink included) skips what is complete', async () => {
    const target = box.path('restore-twice');
    expectCode(await box.run(['restore', snap.snapshotId, '--target', target]), 0);
    const again = await box.run(['restore', snap.snapshotId, '--target', target]);
    expectCode(again, 0);
    expect(again.stdout).toContain('files: 0 restored, 4 already complete, 0 failed');
    expect(await readTree(join(target, src))).toEqual(await readTree(src));
    // a symlink pointing elsewhere is still a conflict
    await fsp.rm(join(target, src, 'link'));
    await fsp.symlink('docs/notes.md', join(target, src, 'link'));
    const refused = await box.run(['restore', snap.snapshotId, '--target', target]);
    expectCode(refused, 1);
    expect(refused.stderr).toContain(`differs from the snapshot: ${join(target, src, 'link')};`);
  });

  it('existing files that differ are a conflict unless --overwrite', async () => {
    const target = box.path('restore-conflict');
    const only = ['--include', `${src}/docs`];
    expectCode(await box.run(['restore', snap.snapshotId, '--target', target, ...only]), 0);
    const readme = join(target, src, 'docs/readme.txt');
    await fsp.writeFile(readme, 'local edit!!\n'); // same size as the original, different content
    await fsp.writeFile(join(target, src, 'docs/notes.md'), 'a longer local edit\n');

    const refused = await box.run(['restore', snap.snapshotId, '--target', target, ...only]);
    expectCode(refused, 1);
    // Both, the one of the same size too: refused before anything is written.
    expect(refused.stderr).toContain('2 entries already exist in the target and differ from the snapshot');
    expect(refused.stderr).toContain('--overwrite');
    expect(await fsp.readFile(join(target, src, 'docs/notes.md'), 'utf8')).toBe('a longer local edit\n');
    expect(await fsp.readFile(readme, 'utf8')).toBe('local edit!!\n');

    const forced = await box.run(['restore', snap.snapshotId, '--target', target, '--overwrite', ...only]);
    expectCode(forced, 0);
    expect(await fsp.readFile(readme, 'utf8')).toBe('hello, cairn\n');
    expect(await fsp.readFile(join(target, src, 'docs/notes.md'), 'utf8')).toBe('# notes\n');
  });

  it('an entry of another type in the way (a file where a directory belongs) is a conflict, not an internal error', async () => {
    const target = box.path('restore-type-conflict');
    await writeTree(target, { [`${src.slice(1)}/docs`]: 'a file where the snapshot has a directory\n' });
    const refused = await box.run(['restore', snap.snapshotId, '--target', target]);
    expectCode(refused, 1);
    expect(refused.stderr.trim()).toBe(
      `cairn: 1 entry already exists in the target and differs from the snapshot: ${join(target, src, 'docs')}; nothing was restored. Use --overwrite to replace it, or restore into an empty directory.`,
    );
    expect(await names(join(target, src))).toEqual(['docs']); // nothing written
    expectCode(await box.run(['restore', snap.snapshotId, '--target', target, '--overwrite']), 0);
    expect(await readTree(join(target, src))).toEqual(await readTree(src));
  });

  it('a --target that is an existing file (or below one) is refused before anything runs', async () => {
    const file = box.path('restore-into-file');
    await fsp.writeFile(file, 'not a directory\n');
    for (const target of [file, join(file, 'sub')]) {
      const r = await box.run(['restore', 'latest', '--target', target]);
      expectCode(r, 1);
      expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^cairn: --target .* is not a directory/)]);
      const j = await box.run(['restore', 'latest', '--json', '--target', target]);
      expectCode(j, 1);
      expect(jsonLines(j.stdout)).toEqual([
        expect.objectContaining({ type: 'error', operation: 'restore', code: 'INVALID_ARGUMENT', exitCode: 1 }),
      ]);
    }
    expect(await fsp.readFile(file, 'utf8')).toBe('not a directory\n');
  });

  it('--json prints start, progress and one summary', async () => {
    const r = await box.run(['restore', 'latest', '--json', '--target', box.path('restore-json')]);
    expectCode(r, 0);
    const events = jsonLines(r.stdout);
    expect(events[0]).toMatchObject({ type: 'start', operation: 'restore', snapshotId: snap.snapshotId });
    expect(events.filter((e) => e.type === 'progress').length).toBeGreaterThan(0);
    expect(events.filter((e) => e.type === 'summary')).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({
      type: 'summary',
      operation: 'restore',
      files: { restored: 4, skipped: 0, failed: 0 },
      bytes: { written: big.length + 13 + 8 + 900 },
    });
  });
});

describe('host filters', () => {
  let b: Sandbox;
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    b = await Sandbox.create();
    await b.init();
    await writeTree(b.path('data'), { 'f.txt': 'file\n' });
    for (const host of ['h1', 'h2', 'h3']) ids[host] = (await b.backup(['--host', host, b.path('data')])).snapshotId;
  });
  afterAll(async () => {
    await b.remove();
  });

  it('a repeated --host selects the snapshots of any of the hosts', async () => {
    const list = async (...args: string[]) => {
      const r = await b.run(['snapshots', '--json', ...args]);
      expectCode(r, 0);
      return (JSON.parse(r.stdout) as { id: string }[]).map((s) => s.id);
    };
    expect(await list('--host', 'h1', '--host', 'h2')).toEqual([ids.h1, ids.h2]);
    expect(await list('--host', 'h3')).toEqual([ids.h3]);
    expect(await list('--host', 'h3', '--host', 'nohost')).toEqual([ids.h3]);
    expect(await list()).toEqual([ids.h1, ids.h2, ids.h3]);
  });

  it('restore latest takes the latest snapshot of any of the hosts; none matching names the filter', async () => {
    const r = await b.run(['restore', 'latest', '--json', '--host', 'h1', '--host', 'h2', '-t', b.path('out')]);
    expectCode(r, 0);
    expect(jsonLines(r.stdout)[0]).toMatchObject({ type: 'start', snapshotId: ids.h2 });
    const one = await b.run(['restore', 'latest', '--json', '--host', 'h1', '-t', b.path('out1')]);
    expect(jsonLines(one.stdout)[0]).toMatchObject({ type: 'start', snapshotId: ids.h1 });

    const none = await b.run(['restore', 'latest', '--host', 'nohost', '-t', b.path('none')]);
    expectCode(none, 1);
    expect(none.stderr.trim()).toBe(
      `cairn: no snapshot matches "latest" with the filter host nohost (none of the repository's 3 snapshots)`,
    );
    expect(existsSync(b.path('none'))).toBe(false);
  });
});

describe('stats', () => {
  it('reports what the repository stores and the deduplication', async () => {
    const b = await Sandbox.create();
    try {
      await b.init();
      const data = randomBytes(1024 * 1024);
      await writeTree(b.path('one'), { 'x.bin': data });
      await writeTree(b.path('two'), { 'copy-of-x.bin': data });
      await b.backup([b.path('one')]);
      const second = await b.backup([b.path('two')]);
      expect(second.bytes.added).toBe(0);

      const r = await b.run(['stats', '--json']);
      expectCode(r, 0);
      const s = JSON.parse(r.stdout) as Record<string, number>;
      expect(s.snapshots).toBe(2);
      expect(s.uniqueBytes).toBe(data.length);
      expect(s.snapshotBytes).toBe(2 * data.length);
      // the same MiB held twice, stored once (the ratio counts pack overhead, so a little under 2)
      expect(s.dedupRatio).toBeGreaterThan(1.95);
      expect(s.dedupRatio).toBeLessThanOrEqual(2);
      expect(s.packs).toBeGreaterThan(0);

      const human = await b.run(['stats']);
      expectCode(human, 0);
      expect(human.stdout).toMatch(/^snapshots:\s+2$/m);
      expect(human.stdout).toMatch(/^deduplication:\s+(1\.9[5-9]|2\.00)x$/m);

      const one = await b.run(['stats', '--json', 'latest']);
      expectCode(one, 0);
      expect(JSON.parse(one.stdout)).toMatchObject({
        snapshotId: second.snapshotId,
        files: 1,
        totalBytes: data.length,
      });
    } finally {
      await b.remove();
    }
  });
});

describe('key', () => {
  it('list, add, remove and passwd change which passwords open the repository', async () => {
    const b = await Sandbox.create();
    try {
      await b.init();
      const list = async (password = PASSWORD) => {
        const r = await b.run(['key', 'list', '--json'], { env: { CAIRN_PASSWORD: password } });
        expectCode(r, 0);
        return JSON.parse(r.stdout) as { id: string; current: boolean }[];
      };
      const opens = async (password: string) =>
        (await b.run(['snapshots'], { env: { CAIRN_PASSWORD: password } })).code;

      const [original] = await list();
      expect(original?.current).toBe(true);

      const pwFile = b.path('second-password');
      await fsp.writeFile(pwFile, 'second password\n');
      const added = await b.run(['key', 'add', '--kdf-work', '1024', '--new-password-file', pwFile]);
      expectCode(added, 0);
      expect(added.stdout).toMatch(/^added key [0-9a-f]{8}$/m);
      const keys = await list();
      expect(keys).toHaveLength(2);
      const second = keys.find((k) => !k.current)!;
      expect(await opens('second password')).toBe(0);

      const human = await b.run(['key', 'list']);
      expect(human.stdout).toContain(`*${original!.id.slice(0, 8)}`);
      expect(human.stdout).toContain(` ${second.id.slice(0, 8)}`);

      const removeCurrent = await b.run(['key', 'remove', original!.id.slice(0, 10)]);
      expectCode(removeCurrent, 1); // never the key in use
      expect(await list()).toHaveLength(2);

      expectCode(await b.run(['key', 'remove', second.id.slice(0, 10)]), 0);
      expect(await list()).toHaveLength(1);
      expect(await opens('second password')).toBe(12);

      const passwd = await b.run(['key', 'passwd', '--kdf-work', '1024'], {
        env: { CAIRN_NEW_PASSWORD: 'third password' },
      });
      expectCode(passwd, 0);
      expect(passwd.stdout).toMatch(/^password changed \(new key [0-9a-f]{8}\)$/m);
      expect(await opens(PASSWORD)).toBe(12);
      expect(await opens('third password')).toBe(0);
      expect(await list('third password')).toHaveLength(1);
    } finally {
      await b.remove();
    }
  });
});

describe('repair index', () => {
  it('rebuilds a lost index from the packs so restores work again', async () => {
    const b = await Sandbox.create();
    try {
      await b.init();
      await writeTree(b.path('data'), { 'a.bin': randomBytes(300_000), 'b.txt': 'bee\n' });
      const snap = await b.backup([b.path('data')]);
      const indexDir = join(b.repo, 'index');
      expect((await names(indexDir)).length).toBeGreaterThan(0);
      for (const n of await names(indexDir)) await fsp.rm(join(indexDir, n));
      await fsp.rm(b.cache, { recursive: true, force: true });

      const broken = await b.run(['restore', snap.snapshotId, '--target', b.path('r1')]);
      expect(broken.code).not.toBe(0); // 1 (failed) or 3 (nothing could be restored)
      expect(broken.stderr).toMatch(/not in the index/);
      expect(await names(join(b.path('r1'), b.path('data')))).toEqual([]);

      const r = await b.run(['repair', 'index']);
      expectCode(r, 0);
      expect(r.stdout).toMatch(/^indexed \d+ blobs in \d+ packs; wrote 1 index segment\(s\), removed 0$/m);
      expect((await names(indexDir)).length).toBe(1);

      expectCode(await b.run(['restore', snap.snapshotId, '--target', b.path('r2')]), 0);
      expect(await readTree(join(b.path('r2'), b.path('data')))).toEqual(await readTree(b.path('data')));

      const j = jsonLines((await b.run(['repair', 'index', '--json'])).stdout);
      expect(j[0]).toMatchObject({ type: 'start', operation: 'repair' });
      expect(j.at(-1)).toMatchObject({ type: 'summary', operation: 'repair', damagedPacks: [] });
    } finally {
      await b.remove();
    }
  });
});

describe('repair index --read-data', () => {
  it('leaves a damaged blob out, so a full backup stores it again and the old snapshot restores', async () => {
    const b = await Sandbox.create();
    try {
      await b.init();
      const big = randomBytes(300_000);
      await writeTree(b.path('data'), { 'a.bin': big, 'b.txt': 'bee\n' });
      const snap = await b.backup([b.path('data')]);
      // Flip a byte in the middle of the largest pack (a.bin's data).
      const packs: string[] = [];
      for (const d of await names(join(b.repo, 'data'))) {
        for (const n of await names(join(b.repo, 'data', d))) packs.push(join(b.repo, 'data', d, n));
      }
      const sizes = await Promise.all(packs.map(async (p) => (await fsp.stat(p)).size));
      const pack = packs[sizes.indexOf(Math.max(...sizes))]!;
      const bytes = await fsp.readFile(pack);
      bytes[150_000]! ^= 0xff;
      await fsp.chmod(pack, 0o600);
      await fsp.writeFile(pack, bytes);

      const v = await b.run(['verify', '--read-data']);
      expect(v.code).toBe(1);
      expect(v.stdout + v.stderr).toMatch(/repair index --read-data/);
      const r = await b.run(['repair', 'index', '--read-data']);
      expectCode(r, 3);
      expect(r.stderr).toMatch(/1 damaged blob\(s\) left out of the index/);
      expectCode(await b.run(['backup', '--kind', 'full', b.path('data')]), 0);
      expectCode(await b.run(['restore', snap.snapshotId, '--target', b.path('r')]), 0);
      expect(await readTree(join(b.path('r'), b.path('data')))).toEqual(await readTree(b.path('data')));
    } finally {
      await b.remove();
    }
  });
});

describe('cache folder', () => {
  it('CAIRN_CACHE_DIR and --cache-dir choose where the local cache lives', async () => {
    const b = await Sandbox.create();
    try {
      const id = await b.init();
      await writeTree(b.path('d'), { f: 'data' });
      await b.backup([b.path('d')]);
      expect(await names(b.cache)).toEqual([id]);

      const other = b.path('other-cache');
      const r = await b.run(['backup', '--cache-dir', other, b.path('d')], { env: { CAIRN_CACHE_DIR: undefined } });
      expectCode(r, 0);
      expect(await names(other)).toEqual([id]);
      expect(await names(b.home)).toEqual([]); // nothing under ~/.cache
    } finally {
      await b.remove();
    }
  });

  it('a cache folder that cannot be used, or a damaged index segment, gives a warning, not a failure', async () => {
    const b = await Sandbox.create();
    try {
      await b.init();
      await writeTree(b.path('d'), { f: 'data' });
      await b.backup([b.path('d')]);
      const blocked = b.path('blocked');
      await fsp.writeFile(blocked, 'a file, not a folder');
      const r = await b.run(['ls', 'latest'], { env: { CAIRN_CACHE_DIR: blocked } });
      expectCode(r, 0);
      expect(r.stdout).toContain(b.path('d', 'f'));
      expect(r.stderr).toMatch(/^warning: cannot use the cache folder .*using a temporary cache/m);

      const [segment] = await names(join(b.repo, 'index'));
      await fsp.appendFile(join(b.repo, 'index', segment!), 'junk');
      const cold = await b.run(['ls', 'latest'], { env: { CAIRN_CACHE_DIR: b.path('cold') } });
      expectCode(cold, 1); // the snapshot's tree is listed only by the damaged segment
      expect(cold.stderr).toMatch(/not in the index/);
      expect(cold.stderr).toMatch(/^warning: index\/[0-9a-f]{64}: .*run "cairn repair index"/m);
      expectCode(await b.run(['repair', 'index']), 0);
      const healed = await b.run(['ls', 'latest'], { env: { CAIRN_CACHE_DIR: b.path('cold2') } });
      expectCode(healed, 0);
      expect(healed.stderr).toBe('');
    } finally {
      await b.remove();
    }
  });
});

describe('names that are not UTF-8 on the command line', () => {
  it('restore --include and ls PATH select exactly the bytes given', async () => {
    const b = await Sandbox.create();
    try {
      await b.init();
      const dir = Buffer.from(b.path('n'));
      await fsp.mkdir(dir, { recursive: true });
      for (const name of [Buffer.from('bad\xff', 'latin1'), Buffer.from('bad\xfe', 'latin1'), Buffer.from('ok')]) {
        await fsp.writeFile(Buffer.concat([dir, Buffer.from('/'), name]), name);
      }
      await b.backup([b.path('n')]);
      // Node cannot pass such bytes to a child: a shell does, from $'…' quoting.
      const shell = (args: string) =>
        new Promise<{ code: number | null; stderr: string; stdout: Buffer }>((resolvePromise) => {
          const child = spawn('bash', ['-c', `"${process.execPath}" "${CAIRN}" ${args}`], {
            env: baseEnv(b.env()),
            cwd: b.root,
          });
          const out: Buffer[] = [];
          let stderr = '';
          child.stdout.on('data', (d: Buffer) => out.push(d));
          child.stderr.on('data', (d: Buffer) => {
            stderr += d.toString();
          });
          child.on('close', (code) => resolvePromise({ code, stderr, stdout: Buffer.concat(out) }));
        });
      const restored = await shell(`restore latest --target out --include $'${b.path('n')}/bad\\xff' -q`);
      expect(restored.code, restored.stderr).toBe(0);
      const inOut = await fsp.readdir(b.path('out', b.path('n')), { encoding: 'buffer' });
      expect(inOut).toEqual([Buffer.from('bad\xff', 'latin1')]);

      const eq = await shell(`restore latest --target out2 --include=$'${b.path('n')}/bad\\xfe' -q`);
      expect(eq.code, eq.stderr).toBe(0);
      expect(await fsp.readdir(b.path('out2', b.path('n')), { encoding: 'buffer' })).toEqual([
        Buffer.from('bad\xfe', 'latin1'),
      ]);

      const listed = await shell(`ls latest $'${b.path('n')}/bad\\xfe' --json`);
      expect(listed.code, listed.stderr).toBe(0);
      expect(listed.stdout.toString().trim().split('\n')).toHaveLength(1);
      const none = await shell(`restore latest --target out3 --include $'${b.path('n')}/bad\\xfd'`);
      expect(none.code).toBe(1);
      expect(none.stderr).toMatch(/nothing to restore/);
    } finally {
      await b.remove();
    }
  });
});

describe('verify output', () => {
  it('shows the blobs of one lost pack as one problem, once', async () => {
    const b = await Sandbox.create();
    try {
      await b.init();
      await writeTree(b.path('d'), { a: randomBytes(3 * 1024 * 1024), b: randomBytes(3 * 1024 * 1024) });
      await b.backup([b.path('d')]);
      const packs: { path: string; size: number }[] = [];
      for (const fan of await names(join(b.repo, 'data'))) {
        for (const p of await names(join(b.repo, 'data', fan))) {
          const path = join(b.repo, 'data', fan, p);
          packs.push({ path, size: (await fsp.stat(path)).size });
        }
      }
      const data = packs.sort((x, y) => y.size - x.size)[0]!;
      await fsp.rm(data.path);
      const r = await b.run(['verify']);
      expectCode(r, 1);
      const blobs = (r.stderr.match(/^- (\d+) blobs: its pack [0-9a-f]{64} is missing \[NOT_FOUND\]$/m) ?? [])[1];
      expect(Number(blobs)).toBeGreaterThan(1);
      expect(r.stderr).toMatch(new RegExp(`^${blobs} problem\\(s\\) found:$`, 'm'));
      expect(r.stderr).not.toMatch(/^error:/m);
      expect(r.stderr.match(/hint:/g)).toHaveLength(1);
      expect(r.stderr).toContain(`:${b.path('d', 'a')}`);
      expect(r.stderr).toContain(`:${b.path('d', 'b')}`);
      const json = jsonLines((await b.run(['verify', '--json'])).stdout);
      expect(json.filter((e) => e.type === 'error')).toHaveLength(Number(blobs));
    } finally {
      await b.remove();
    }
  });
});
