/**
 * MetadataReader: synchronous and asynchronous modes give the same listings and stats (errors in
 * place), and slow synchronous calls switch it to asynchronous for good.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MetadataReader } from '../../src/backup/metadata-reader.js';

const dir = mkdtempSync(join(tmpdir(), 'cairn-meta-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
mkdirSync(join(dir, 'sub'));
writeFileSync(join(dir, 'b.txt'), 'bb');
writeFileSync(join(dir, 'a.txt'), 'a');
symlinkSync('nowhere', join(dir, 'link'));
const name = Buffer.from([0x66, 0xff, 0x2e]); // not UTF-8
writeFileSync(Buffer.concat([Buffer.from(`${dir}/`), name]), 'x');

describe('MetadataReader', () => {
  it('lists and stats the same in both modes, errors in place', async () => {
    const results = [];
    for (const reader of [new MetadataReader(), new MetadataReader({ async: true })]) {
      const names = await reader.readdir(Buffer.from(dir));
      const paths = [...names, Buffer.from('missing')].map((n) => Buffer.concat([Buffer.from(`${dir}/`), n]));
      const stats = await reader.lstatAll(paths);
      results.push({
        names: names.map((n) => n.toString('hex')),
        stats: stats.map((s) => ('ino' in s ? `${s.ino}:${s.size}:${s.mode}:${s.mtimeNs}` : s.code)),
      });
      await expect(reader.readdir(Buffer.from(join(dir, 'missing')))).rejects.toMatchObject({ code: 'ENOENT' });
    }
    expect(results[0]).toEqual(results[1]);
    // Sorted bytewise, the non-UTF-8 name kept exact.
    expect(results[0]!.names).toEqual(
      [Buffer.from('a.txt'), Buffer.from('b.txt'), name, Buffer.from('link'), Buffer.from('sub')]
        .sort(Buffer.compare)
        .map((n) => n.toString('hex')),
    );
    expect(results[0]!.stats.at(-1)).toBe('ENOENT');
  });

  it('starts synchronous, switches after three slow observations in a row, back when a probe is fast', async () => {
    expect(new MetadataReader().asynchronous).toBe(false);
    const slow = new MetadataReader({ slowCallMs: 0, minTotalMs: 0 });
    await slow.lstatAll([Buffer.from(dir)]);
    await slow.readdir(Buffer.from(dir));
    expect(slow.asynchronous).toBe(false); // two slow ones: could be the thread losing its CPU
    await slow.lstatAll([Buffer.from(dir)]);
    expect(slow.asynchronous).toBe(true);
    // Probes (every 32nd directory) that are slow too keep it asynchronous.
    for (let i = 0; i < 40; i++) await slow.lstatAll([Buffer.from(dir)]);
    expect(slow.asynchronous).toBe(true);
    // Started asynchronous, with calls that always count as fast: the 32nd directory switches back.
    const recovering = new MetadataReader({ async: true, slowCallMs: 1e9 });
    for (let i = 0; i < 31; i++) await recovering.lstatAll([Buffer.from(dir)]);
    expect(recovering.asynchronous).toBe(true);
    await recovering.lstatAll([Buffer.from(dir)]);
    expect(recovering.asynchronous).toBe(false);
  });
});
