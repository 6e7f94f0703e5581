/**
 * Applies a tree node's metadata to a restored entry: owner (when running as root, by name when the
 * name exists here, else by number), permissions, and modification time with the best precision
 * Node offers (microseconds). Symlinks get owner and times without following them.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import type { TreeNode } from '../format/tree.js';
import { gidForName, uidForName } from './owner-names.js';

const isRoot = () => process.getuid?.() === 0;

/**
 * Seconds (with fraction) from nanoseconds, as utimes takes them. Node hands the time to libuv as
 * a double, which keeps ~0.24 µs near today's dates, and libuv truncates it to whole microseconds;
 * so the fraction aims at the middle of the microsecond, and the file gets the recorded time
 * truncated to microseconds exactly (not one microsecond less when the double falls short).
 */
export function nsToSeconds(ns: bigint): number {
  const s = ns / 1_000_000_000n;
  const rem = ns % 1_000_000_000n;
  if (rem < 0n) return Number(s) + Number(rem) / 1e9; // before 1970: as before, no aiming
  return Number(s) + (Number(rem / 1000n) * 1000 + 500) / 1e9;
}

/** The uid and gid to restore for a node. */
export function ownerFor(node: TreeNode): { uid: number; gid: number } {
  const uid = node.user !== undefined ? (uidForName(node.user) ?? node.uid) : node.uid;
  const gid = node.group !== undefined ? (gidForName(node.group) ?? node.gid) : node.gid;
  return { uid, gid };
}

/** Owner, mode and times for a file or directory (path given as bytes). */
export async function applyMetadata(path: Buffer, node: TreeNode): Promise<void> {
  if (isRoot()) {
    const { uid, gid } = ownerFor(node);
    await fsp.lchown(path, uid, gid);
  }
  if (node.type !== 'symlink') await fsp.chmod(path, node.mode);
  const t = nsToSeconds(node.mtimeNs);
  if (node.type === 'symlink') await fsp.lutimes(path, t, t);
  else await fsp.utimes(path, t, t);
}

/** Owner, mode and times through an open handle (files being restored). */
export async function applyFileMetadata(handle: fsp.FileHandle, node: TreeNode): Promise<void> {
  if (isRoot()) {
    const { uid, gid } = ownerFor(node);
    await handle.chown(uid, gid);
  }
  await handle.chmod(node.mode);
  const t = nsToSeconds(node.mtimeNs);
  await handle.utimes(t, t);
}

/** {@link applyMetadata}, synchronously (directories at the end of a restore: one call per step). */
export function applyMetadataSync(path: Buffer, node: TreeNode): void {
  if (isRoot()) {
    const { uid, gid } = ownerFor(node);
    fs.lchownSync(path, uid, gid);
  }
  if (node.type !== 'symlink') fs.chmodSync(path, node.mode);
  const t = nsToSeconds(node.mtimeNs);
  if (node.type === 'symlink') fs.lutimesSync(path, t, t);
  else fs.utimesSync(path, t, t);
}
