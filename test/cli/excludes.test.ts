/**
 * `backup --exclude/--exclude-file` with restic's rules, end to end: `!` patterns re-include (and
 * never mean "everything except"), relative patterns with a slash match at any depth, and a lone
 * `!` is refused before anything is written. With --one-file-system, a mount point given as a path
 * is backed up with its content.
 */
import { execFileSync } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectCode, isRoot, jsonLines, Sandbox, writeTree } from './helpers.js';

let box: Sandbox;
let src: string;

beforeAll(async () => {
  box = await Sandbox.create();
  await box.init();
  src = box.path('src');
  await writeTree(src, {
    'top.txt': 't',
    'y.bin': 'y',
    'keep/a.txt': 'a',
    'keep/b.log': 'b',
    'logs/c.log': 'c',
    'ex/a/cache/deep/f': 'f',
    'other/cache/g': 'g',
  });
});
afterAll(() => box.remove());

/** Paths (relative to src) in the latest snapshot, sorted. */
async function latest(root = src): Promise<string[]> {
  const r = await box.run(['ls', 'latest']);
  expectCode(r, 0);
  return r.stdout
    .split('\n')
    .filter((l) => l.startsWith(`${root}/`))
    .map((l) => l.slice(root.length + 1))
    .sort();
}

describe('backup --exclude', () => {
  it('"!*.txt" alone excludes nothing', async () => {
    await box.backup(['--exclude', '!*.txt', 'src']);
    expect(await latest()).toEqual([
      'ex',
      'ex/a',
      'ex/a/cache',
      'ex/a/cache/deep',
      'ex/a/cache/deep/f',
      'keep',
      'keep/a.txt',
      'keep/b.log',
      'logs',
      'logs/c.log',
      'other',
      'other/cache',
      'other/cache/g',
      'top.txt',
      'y.bin',
    ]);
  });

  it('a "!keep" line in an exclude file re-includes keep/ and everything in it', async () => {
    const list = box.path('excludes.txt');
    await fsp.writeFile(list, '# keep the logs of keep/ only\n*.log\n!keep\n');
    await box.backup(['--exclude-file', list, '--exclude', 'a/cache', '--exclude', 'cache/*', 'src']);
    expect(await latest()).toEqual([
      'ex',
      'ex/a',
      'keep',
      'keep/a.txt',
      'keep/b.log',
      'logs',
      'other',
      'other/cache',
      'top.txt',
      'y.bin',
    ]);
  });

  it('a lone "!" is refused, and nothing is written', async () => {
    const before = (await box.snapshots()).length;
    const r = await box.run(['backup', '--json', '--exclude', '!', 'src']);
    expectCode(r, 1);
    expect(jsonLines(r.stdout).at(-1)).toMatchObject({ type: 'error', code: 'INVALID_ARGUMENT' });
    expect((await box.snapshots()).length).toBe(before);
  });

  it.runIf(isRoot)('-x backs up a mount point given as a path with its content', async () => {
    const mnt = box.path('src', 'mnt');
    await fsp.mkdir(mnt);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt], { stdio: 'ignore' });
    } catch {
      await fsp.rmdir(mnt);
      return; // mount not permitted here
    }
    try {
      await fsp.writeFile(box.path('src', 'mnt', 'inside'), 'x');
      await box.backup(['-x', 'src']);
      expect((await latest()).filter((p) => p.startsWith('mnt'))).toEqual(['mnt']);
      await box.backup(['-x', 'src/mnt', 'src']);
      expect((await latest()).filter((p) => p.startsWith('mnt'))).toEqual(['mnt', 'mnt/inside']);
    } finally {
      execFileSync('umount', [mnt]);
      await fsp.rmdir(mnt);
    }
  });
});
