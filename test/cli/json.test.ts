/**
 * Machine-readable output: with --json, stdout is only JSON. Long operations print JSON lines
 * (start, rate-limited progress, error per file, one summary); listings print one document.
 */
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BackupSummaryLine,
  expectCode,
  finished,
  jsonLines,
  Sandbox,
  SLOW_SOURCE,
  type SnapshotJson,
  writeTree,
} from './helpers.js';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

let b: Sandbox;
beforeAll(async () => {
  b = await Sandbox.create();
  await b.init();
  await writeTree(b.path('data'), { 'a.txt': 'alpha\n', 'b/c.txt': 'gamma\n', link: { symlink: 'a.txt' } });
});
afterAll(async () => {
  await b.remove();
});

describe('backup --json', () => {
  it('prints start, rate-limited progress and one final summary, every line JSON', async () => {
    const cairn = b.spawn(['backup', '--json', '--tag', 'json', '--stdin', '--stdin-name', 'stream.bin']);
    const producer = spawn(process.execPath, [SLOW_SOURCE, '1200', '32', '20'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    producer.stdout.pipe(cairn.stdin!);
    const r = await finished(cairn);
    expectCode(r, 0);
    expect(r.stderr).toBe('');

    const events = jsonLines(r.stdout); // throws on any line that is not a JSON object
    for (const e of events) expect(['start', 'progress', 'error', 'summary']).toContain(e.type);
    expect(events.every((e) => e.operation === 'backup')).toBe(true);

    const start = events[0]!;
    expect(start).toMatchObject({ type: 'start', kind: 'incremental', parent: null, paths: ['/stream.bin'] });
    expect(String(start.time)).toMatch(ISO);

    const progress = events.filter((e) => e.type === 'progress');
    expect(progress.length).toBeGreaterThanOrEqual(3);
    // ~60 chunks arrive, but progress is rate-limited (every 250 ms, plus a final one)
    const times = progress.map((p) => Number(p.elapsedMs));
    for (let i = 1; i < times.length - 1; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(200);
    expect(progress.length).toBeLessThanOrEqual(Math.ceil(times.at(-1)! / 250) + 2);
    for (const p of progress) {
      expect(p).toMatchObject({ filesDone: expect.any(Number), bytesDone: expect.any(Number) });
      expect(p.bytesPerSecond).toEqual(expect.any(Number));
    }
    const bytesSeen = progress.map((p) => Number(p.bytesDone));
    expect(bytesSeen).toEqual([...bytesSeen].sort((x, y) => x - y)); // never goes back

    expect(events.filter((e) => e.type === 'summary')).toHaveLength(1);
    const summary = events.at(-1) as unknown as BackupSummaryLine;
    expect(summary).toMatchObject({
      type: 'summary',
      snapshotId: expect.stringMatching(/^[0-9a-f]{64}$/),
      kind: 'incremental',
      parent: null,
      files: { new: 1, changed: 0, unchanged: 0 },
      bytes: { read: bytesSeen.at(-1), added: bytesSeen.at(-1) },
      durationMs: expect.any(Number),
    });
    expect(summary.bytes.read).toBeGreaterThan(32 * 1024 * 10);
    expect(summary.bytes.stored).toBeGreaterThanOrEqual(summary.bytes.read); // random data: no savings
    expect(summary.durationMs).toBeGreaterThanOrEqual(times.at(-1)! - 50);
  });

  it('a path backup: start, progress and a summary counting files and bytes', async () => {
    const r = await b.run(['backup', '--json', b.path('data')]);
    expectCode(r, 0);
    const events = jsonLines(r.stdout);
    expect(events.map((e) => e.type)).toEqual(['start', ...events.slice(1, -1).map(() => 'progress'), 'summary']);
    expect(events.at(-1)).toMatchObject({
      files: { new: 2, changed: 0, unchanged: 0 },
      bytes: { read: 12, added: 12 },
      partial: false,
    });
    // The totals come from the count made while the key was derived, excludes applied.
    const excluded = await b.run(['backup', '--json', '--exclude', 'c.txt', b.path('data')]);
    expectCode(excluded, 0);
    expect(
      jsonLines(excluded.stdout)
        .filter((e) => e.type === 'progress')
        .at(-1),
    ).toMatchObject({
      filesTotal: 1,
      bytesTotal: 6,
      totalsFinal: true,
      filesDone: 1,
    });
  });
});

describe('snapshots --json', () => {
  it('is one JSON array; each snapshot has the documented fields', async () => {
    await b.backup(['--operator', 'ops', '--class', 'important', '--tag', 'x', b.path('data')]);
    const r = await b.run(['snapshots', '--json']);
    expectCode(r, 0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const list = JSON.parse(r.stdout) as SnapshotJson[];
    expect(Array.isArray(list)).toBe(true);
    expect(list.length).toBeGreaterThanOrEqual(2);
    for (const s of list) {
      expect(s.id).toMatch(/^[0-9a-f]{64}$/);
      expect(s.time).toMatch(ISO);
      expect(s.host).toBe(hostname());
      expect(typeof s.operator).toBe('string');
      expect(Array.isArray(s.paths)).toBe(true);
      expect(Array.isArray(s.tags)).toBe(true);
      expect(['critical', 'important', 'general']).toContain(s.class);
      expect(['incremental', 'differential', 'full']).toContain(s.kind);
      expect(s.parent === null || /^[0-9a-f]{64}$/.test(s.parent)).toBe(true);
      expect(s.stats).toMatchObject({ filesNew: expect.any(Number), totalBytes: expect.any(Number) });
    }
    expect(list.at(-1)).toMatchObject({ operator: 'ops', class: 'important', tags: ['x'], parent: list.at(-2)?.id });
    // oldest first
    const times = list.map((s) => Date.parse(s.time));
    expect(times).toEqual([...times].sort((x, y) => x - y));
  });
});

describe('every command keeps stdout pure JSON with --json', () => {
  it.each([
    [['snapshots']],
    [['ls', 'latest']],
    [['diff', 'latest', 'latest']],
    [['stats']],
    [['stats', 'latest']],
    [['key', 'list']],
    [['unlock']],
    [['repair', 'index']],
    [['restore', 'latest', '--target', '{root}/json-restore']],
    [['cat', 'config']],
    [['cat', 'snapshot', 'latest']],
  ])('%j', async (args) => {
    const r = await b.run([...args.map((a) => a.replace('{root}', b.root)), '--json']);
    expectCode(r, 0);
    expect(r.stdout.trim()).not.toBe('');
    // listings are one JSON document on one line, the rest JSON lines: every line is JSON
    for (const line of r.stdout.trim().split('\n')) expect(() => JSON.parse(line), line).not.toThrow();
  });

  it('cat pretty-prints for humans, one line with --json', async () => {
    for (const args of [
      ['cat', 'config'],
      ['cat', 'snapshot', 'latest'],
    ]) {
      const human = await b.run(args);
      expectCode(human, 0);
      expect(human.stdout.trim().split('\n').length).toBeGreaterThan(1);
      const json = await b.run([...args, '--json']);
      expectCode(json, 0);
      expect(json.stdout.trim().split('\n')).toHaveLength(1);
      expect(JSON.parse(json.stdout)).toEqual(JSON.parse(human.stdout));
    }
  });
});
