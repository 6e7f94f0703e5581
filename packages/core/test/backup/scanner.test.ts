/** scanTotals: counts regular files and their bytes, honours excludes, stops when aborted. */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileExcludes } from '../../src/backup/excludes.js';
import { scanTotals } from '../../src/backup/scanner.js';

const dir = mkdtempSync(join(tmpdir(), 'cairn-scan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
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
