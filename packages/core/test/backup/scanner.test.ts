/**
 * scanTotals: counts regular files and their bytes, honours excludes, stops when aborted.
 * BackupScan: the same count started ahead of a backup, held back or stopped on request.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileExcludes } from '../../src/backup/excludes.js';
import { BackupScan, scanTotals } from '../../src/backup/scanner.js';

const dir = mkdtempSync(join(tmpdir(), 'cairn-scan-'));
const outside = mkdtempSync(join(tmpdir(), 'cairn-scan-lists-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});
mkdirSync(join(dir, 'a', 'b'), { recursive: true });
writeFileSync(join(dir, 'one'), 'x'.repeat(10));
writeFileSync(join(dir, 'a', 'two.log'), 'x'.repeat(100));
writeFileSync(join(dir, 'a', 'b', 'three'), 'x'.repeat(1000));
writeFileSync(Buffer.concat([Buffer.from(`${dir}/a/`), Buffer.from([0x66, 0xff])]), 'x'.repeat(5));
symlinkSync('one', join(dir, 'link'));

describe('scanTotals', () => {
  it('counts files and bytes under every path, not links, minus excludes', async () => {
    const none = compileExcludes([]);
    expect(await scanTotals([dir], none, false, undefined, () => {})).toEqual({ files: 4, bytes: 1115 });
    expect(await scanTotals([dir], compileExcludes(['*.log']), false, undefined, () => {})).toEqual({
      files: 3,
      bytes: 1015,
    });
    expect(await scanTotals([join(dir, 'one'), join(dir, 'a', 'b')], none, false, undefined, () => {})).toEqual({
      files: 2,
      bytes: 1010,
    });
    expect(await scanTotals([join(dir, 'missing')], none, false, undefined, () => {})).toEqual({ files: 0, bytes: 0 });
  });

  it('stops when aborted', async () => {
    const ac = new AbortController();
    ac.abort();
    expect(await scanTotals([dir], compileExcludes([]), false, ac.signal, () => {})).toEqual({ files: 0, bytes: 0 });
  });
});

describe('BackupScan', () => {
  it('counts what a backup of the same scope reads: paths resolved, excludes and exclude files', async () => {
    const list = join(outside, 'excludes.txt');
    writeFileSync(list, '# comment\n*.log\n');
    const scan = BackupScan.start({ paths: [dir], excludes: ['three'], excludeFiles: [list] });
    expect(await scan.finished).toEqual({ files: 2, bytes: 15 }); // one, and the name with a 0xff byte
    expect(scan.done).toBe(true);
    expect(await scan.covers([dir], ['three', '*.log'], false)).toBe(true);
    expect(await scan.covers([dir], ['*.log', 'three'], false)).toBe(false);
    expect(await scan.covers([dir], ['three', '*.log'], true)).toBe(false);
    expect(await scan.covers([join(dir, 'a')], ['three', '*.log'], false)).toBe(false);
  });

  it('an unreadable exclude file leaves the count empty and covering nothing (the backup reports it)', async () => {
    const scan = BackupScan.start({ paths: [dir], excludeFiles: [join(dir, 'missing.txt')] });
    expect(await scan.finished).toEqual({ files: 0, bytes: 0 });
    expect(await scan.covers([dir], [], false)).toBe(false);
  });

  it('holds back while told to, and a stop ends it even while held', async () => {
    let release!: () => void;
    const held = BackupScan.start({ paths: [dir] });
    held.holdUntil(new Promise<void>((r) => (release = r)));
    await new Promise((r) => setTimeout(r, 30));
    expect(held.done).toBe(false);
    expect(held.totals).toEqual({ files: 0, bytes: 0 });
    release();
    expect(await held.finished).toEqual({ files: 4, bytes: 1115 });

    const stopped = BackupScan.start({ paths: [dir] });
    stopped.holdUntil(new Promise<void>(() => {}));
    stopped.stop();
    expect(await stopped.finished).toEqual({ files: 0, bytes: 0 });
    expect(stopped.done).toBe(false);
  });

  it('tells its follower the totals at once and on every update', async () => {
    const scan = BackupScan.start({ paths: [dir] });
    await scan.finished;
    const seen: number[] = [];
    scan.follow((t) => seen.push(t.files));
    expect(seen).toEqual([4]);
  });
});
