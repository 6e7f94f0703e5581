/**
 * Tree-node metadata from an lstat result (with bigint times, so nanoseconds survive).
 */
import type { BigIntStats } from 'node:fs';
import type { NodeType, TreeNode } from '../format/tree.js';
import { groupName, userName } from './owner-names.js';

/** The node type of a stat result. */
export function nodeTypeOf(st: BigIntStats): NodeType {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  if (st.isCharacterDevice()) return 'chardev';
  return 'blockdev';
}

/** A node's metadata (no content, subtree or target yet). */
export function nodeFromStat(name: Uint8Array, st: BigIntStats): TreeNode {
  const uid = Number(st.uid);
  const gid = Number(st.gid);
  const node: TreeNode = {
    name,
    type: nodeTypeOf(st),
    mode: Number(st.mode) & 0o7777,
    uid,
    gid,
    mtimeNs: st.mtimeNs,
    ctimeNs: st.ctimeNs,
    inode: st.ino,
    device: st.dev,
    links: Number(st.nlink),
  };
  const user = userName(uid);
  const group = groupName(gid);
  if (user !== undefined) node.user = user;
  if (group !== undefined) node.group = group;
  if (node.type === 'file') node.size = Number(st.size);
  if (node.type === 'chardev' || node.type === 'blockdev') node.rdev = st.rdev;
  return node;
}
