/**
 * Safe placement of restored entries under a target directory. Every path is built from tree-node
 * names (already checked: no '/', NUL, '.' or '..'), and every directory on the way is checked with
 * lstat to be a real directory, never a symlink, before anything is created inside it. So nothing a
 * snapshot says, and no symlink found in or created in the target, can make a restore write outside
 * the target.
 */
import { type BigIntStats, lstatSync, mkdirSync, rmSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { CairnError } from '../errors.js';
import { isPlainName } from '../format/tree.js';

const SLASH = Buffer.from('/');

/** Joins a directory and one name (bytes). */
export function joinName(dir: Buffer, name: Uint8Array): Buffer {
  return Buffer.concat([dir, SLASH, name]);
}

/** Throws PATH_OUTSIDE_TARGET unless `name` is one safe path component. */
export function assertSafeName(name: Uint8Array, where: string): void {
  if (!isPlainName(name)) {
    const text = Buffer.from(name.buffer, name.byteOffset, name.byteLength).toString();
    throw new CairnError('PATH_OUTSIDE_TARGET', `refusing entry ${JSON.stringify(text)} in ${where}: not a plain name`);
  }
}

async function lstatOrUndefined(path: Buffer): Promise<BigIntStats | undefined> {
  try {
    return await fsp.lstat(path, { bigint: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Makes sure `path` is a real directory (creating it if absent). An existing non-directory or a
 * symlink is a conflict: replaced only with `overwrite`, never followed.
 */
export async function ensureRealDir(path: Buffer, overwrite: boolean): Promise<void> {
  const st = await lstatOrUndefined(path);
  if (st?.isDirectory()) return;
  if (st) {
    if (!overwrite) {
      throw new CairnError(
        'RESTORE_CONFLICT',
        `${path.toString()} exists and is not a directory (use --overwrite to replace it)`,
        {
          details: { path: path.toString() },
        },
      );
    }
    await fsp.rm(path, { recursive: false, force: true });
  }
  await fsp.mkdir(path, { mode: 0o700 });
}

/**
 * {@link ensureRealDir} for a target that was empty when the restore started, where the directory
 * is almost always absent: creates it first and only looks at what is there when that fails.
 * Synchronous (one system call in the common case).
 */
export function makeRealDirSync(path: Buffer, overwrite: boolean): void {
  try {
    mkdirSync(path, { mode: 0o700 });
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const st = lstatSync(path, { bigint: true, throwIfNoEntry: false });
  if (st?.isDirectory()) return;
  if (st && !overwrite) {
    throw new CairnError(
      'RESTORE_CONFLICT',
      `${path.toString()} exists and is not a directory (use --overwrite to replace it)`,
      { details: { path: path.toString() } },
    );
  }
  if (st) rmSync(path, { recursive: false, force: true });
  mkdirSync(path, { mode: 0o700 });
}

/** Describes what occupies a path: undefined when nothing does. */
export async function occupant(path: Buffer): Promise<BigIntStats | undefined> {
  return lstatOrUndefined(path);
}

/** Removes whatever is at `path` (a file, symlink or empty directory), if anything. */
export async function removeEntry(path: Buffer): Promise<void> {
  const st = await lstatOrUndefined(path);
  if (!st) return;
  if (st.isDirectory()) await fsp.rm(path, { recursive: true, force: true });
  else await fsp.unlink(path);
}
