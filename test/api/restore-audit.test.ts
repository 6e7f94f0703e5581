/**
 * Restore fixes from an audit: FIFOs and device nodes with names (or in directories) that are not
 * UTF-8 come back under their exact names; an entry of another type where the snapshot has a
 * directory (a file, a symlink) or where it has a file (a directory) is a conflict reported before
 * anything is written, not an internal error.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { backup, restore } from '@cairn/core';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, newRepo } from './helpers.js';
import { isRoot } from './tree-fixtures.js';

afterAll(cleanup);

/** `dir/name` as bytes. */
const at = (dir: string | Buffer, name: string | Buffer): Buffer =>
  Buffer.concat([Buffer.from(dir), Buffer.from('/'), Buffer.from(name)]);
const FE = (s: string) => Buffer.concat([Buffer.from(s), Buffer.from([0xfe])]);

/** Every name below `dir`, as latin1 (one char per byte) relative paths, sorted. */
function listBytes(dir: Buffer, prefix = ''): string[] {
  const out: string[] = [];
  for (const name of fs.readdirSync(dir, { encoding: 'buffer' })) {
    const rel = `${prefix}${name.toString('latin1')}`;
    out.push(rel);
    const path = at(dir, name);
    if (fs.lstatSync(path).isDirectory()) out.push(...listBytes(path, `${rel}/`));
  }
  return out.sort();
}

describe.skipIf(!isRoot)('special files with names that are not UTF-8', () => {
  it('FIFOs and devices come back under their exact names, in directories not UTF-8 either, and a re-run keeps them', async () => {
    const { repo, base } = await newRepo();
    const src = join(base, 'src');
    const odd = at(src, FE('dir')); // a directory whose name is not UTF-8
    fs.mkdirSync(odd, { recursive: true });
    fs.mkdirSync(join(src, 'plain'));
    execFileSync('mkfifo', [join(src, 'plain', 'ok-fifo')]);
    // mkfifo/mknod take their paths from the shell as bytes.
    execFileSync('/bin/sh', [
      '-c',
      `cd "$1" && mkfifo "$(printf 'fifo\\376')" && mknod "$(printf 'chr\\377')" c 1 5 && chown 1234:1234 "$(printf 'fifo\\376')" && cd "$(printf 'dir\\376')" && mkfifo f && mknod "$(printf 'c\\376')" c 1 3 && mknod blk b 7 200 && chmod 600 blk`,
      'sh',
      src,
    ]);
    await backup(repo, { paths: [src] });
    const target = join(base, 'out');
    const r = await restore(repo, 'latest', { target });
    expect(r.failures).toEqual([]);
    const out = Buffer.from(join(target, src));
    expect(listBytes(out)).toEqual(listBytes(Buffer.from(src)));
    const fifo = fs.lstatSync(at(out, FE('fifo')));
    expect(fifo.isFIFO()).toBe(true);
    expect(fifo.uid).toBe(1234); // its metadata went to the right name
    const chrName = Buffer.from([0x63, 0x68, 0x72, 0xff]);
    expect(fs.lstatSync(at(out, chrName)).isCharacterDevice()).toBe(true);
    expect(fs.lstatSync(at(out, chrName)).rdev).toBe(fs.lstatSync(at(src, chrName)).rdev);
    const inner = at(out, FE('dir'));
    expect(fs.lstatSync(at(inner, 'f')).isFIFO()).toBe(true);
    const chr = fs.lstatSync(at(inner, FE('c')));
    expect(chr.isCharacterDevice()).toBe(true);
    expect(chr.rdev).toBe(fs.lstatSync(at(odd, FE('c'))).rdev);
    const blk = fs.lstatSync(at(inner, 'blk'));
    expect(blk.isBlockDevice()).toBe(true);
    expect(blk.rdev).toBe(fs.lstatSync(at(odd, 'blk')).rdev);
    expect(blk.mode & 0o7777).toBe(0o600);
    expect(fs.lstatSync(join(target, src, 'plain', 'ok-fifo')).isFIFO()).toBe(true);

    // Running it again finds everything in place: no failure, no stray names.
    const again = await restore(repo, 'latest', { target });
    expect(again.failures).toEqual([]);
    expect(listBytes(out)).toEqual(listBytes(Buffer.from(src)));
    await repo.close();
  });
});

describe('an entry of another type where the snapshot has a directory or a file', () => {
  async function setUp() {
    const { repo, base } = await newRepo();
    const src = join(base, 'src');
    fs.mkdirSync(join(src, 'a', 'b'), { recursive: true });
    fs.writeFileSync(join(src, 'a', 'b', 'f1.txt'), 'one\n');
    fs.writeFileSync(join(src, 'a', 'b', 'f2.txt'), 'two\n');
    fs.writeFileSync(join(src, 'file'), 'file\n');
    await backup(repo, { paths: [src] });
    const target = join(base, 'out');
    const inTarget = (...p: string[]) => join(target, src, ...p);
    fs.mkdirSync(inTarget('a'), { recursive: true });
    return { repo, base, src, target, inTarget };
  }

  /** What is below `dir` (relative paths), to see that nothing was written. */
  const snapshotOf = (dir: string) => fs.readdirSync(dir, { recursive: true }).map(String).sort();

  it('a file where a directory belongs: the conflict report, nothing written; --overwrite replaces it', async () => {
    const { repo, target, inTarget } = await setUp();
    fs.writeFileSync(inTarget('a', 'b'), 'in the way\n');
    const before = snapshotOf(target);
    const err = await restore(repo, 'latest', { target }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'RESTORE_CONFLICT', details: { conflicts: [inTarget('a', 'b')] } });
    expect((err as Error).message).toContain('1 entry already exists in the target and differs from the snapshot');
    expect(snapshotOf(target)).toEqual(before);
    const r = await restore(repo, 'latest', { target, overwrite: true });
    expect(r.failures).toEqual([]);
    expect(fs.readFileSync(inTarget('a', 'b', 'f1.txt'), 'utf8')).toBe('one\n');
    await repo.close();
  });

  it('a symlink where a directory belongs: one conflict, nothing looked at or written through it', async () => {
    const { repo, base, target, inTarget } = await setUp();
    const elsewhere = join(base, 'elsewhere');
    fs.mkdirSync(elsewhere);
    fs.writeFileSync(join(elsewhere, 'f1.txt'), 'not from the snapshot\n');
    fs.symlinkSync(elsewhere, inTarget('a', 'b'));
    const before = snapshotOf(target);
    await expect(restore(repo, 'latest', { target })).rejects.toMatchObject({
      code: 'RESTORE_CONFLICT',
      details: { conflicts: [inTarget('a', 'b')] },
    });
    expect(snapshotOf(target)).toEqual(before);
    expect(fs.readdirSync(elsewhere)).toEqual(['f1.txt']);
    await restore(repo, 'latest', { target, overwrite: true });
    expect(fs.lstatSync(inTarget('a', 'b')).isDirectory()).toBe(true);
    expect(fs.readFileSync(join(elsewhere, 'f1.txt'), 'utf8')).toBe('not from the snapshot\n');
    await repo.close();
  });

  it('a directory where a file belongs: the conflict report, nothing written', async () => {
    const { repo, target, inTarget } = await setUp();
    fs.mkdirSync(inTarget('file'));
    fs.writeFileSync(inTarget('file', 'inner'), 'x\n');
    const before = snapshotOf(target);
    await expect(restore(repo, 'latest', { target })).rejects.toMatchObject({
      code: 'RESTORE_CONFLICT',
      details: { conflicts: [inTarget('file')] },
    });
    expect(snapshotOf(target)).toEqual(before);
    await repo.close();
  });

  it('a file where a directory above the snapshot paths belongs (the target path itself)', async () => {
    const { repo, target, src } = await setUp();
    const top = src.split('/').filter(Boolean)[0]!;
    fs.rmSync(join(target, top), { recursive: true });
    fs.writeFileSync(join(target, top), 'in the way\n');
    await expect(restore(repo, 'latest', { target })).rejects.toMatchObject({
      code: 'RESTORE_CONFLICT',
      details: { conflicts: [join(target, top)] },
    });
    await repo.close();
  });
});
