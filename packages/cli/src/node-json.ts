/** JSON and text renderings of tree entries for `ls` and `diff`. */
import { deviceNumbers, type TreeNode } from '@cairn/core';
import { bytes, modeString } from './format.js';

/** Nanoseconds since the epoch as an ISO time with nanoseconds. */
export function isoNs(ns: bigint): string {
  const ms = ns / 1_000_000n;
  const iso = new Date(Number(ms)).toISOString();
  const frac = (((ns % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n).toString().padStart(9, '0');
  return `${iso.slice(0, 19)}.${frac}Z`;
}

export function nodeJson(path: string, n: TreeNode): Record<string, unknown> {
  return {
    path,
    type: n.type,
    mode: n.mode,
    uid: n.uid,
    gid: n.gid,
    ...(n.user !== undefined ? { user: n.user } : {}),
    ...(n.group !== undefined ? { group: n.group } : {}),
    ...(n.size !== undefined ? { size: n.size } : {}),
    mtime: isoNs(n.mtimeNs),
    links: n.links,
    ...(n.target ? { target: Buffer.from(n.target).toString('utf8') } : {}),
  };
}

export function nodeLine(path: string, n: TreeNode): string {
  const owner = `${n.user ?? n.uid} ${n.group ?? n.gid}`;
  const size = sizeColumn(n);
  const when = isoNs(n.mtimeNs).slice(0, 19).replace('T', ' ');
  const target = n.target ? ` -> ${Buffer.from(n.target).toString('utf8')}` : '';
  return `${modeString(n.type, n.mode)} ${owner.padEnd(16)} ${size.padStart(10)}  ${when}  ${path}${target}`;
}

/** A file's size; a device's major and minor numbers, as `ls -l` shows them; else nothing. */
function sizeColumn(n: TreeNode): string {
  if (n.type === 'file') return bytes(n.size ?? 0);
  if (n.type !== 'chardev' && n.type !== 'blockdev') return '';
  const { major, minor } = deviceNumbers(n.rdev ?? 0n);
  return `${major}, ${minor}`;
}
