/**
 * Depth-first walk of a snapshot's trees, yielding every entry with its absolute path in the
 * snapshot. Memory is bounded by the depth of the tree (one directory's entries per level, read
 * through the tree cache), not by the snapshot's size.
 */
import { CairnError } from '../errors.js';
import { nodeName, type TreeNode } from '../format/tree.js';
import type { Repository } from './repository.js';

/** One entry of a walk. */
export interface WalkEntry {
  /** Absolute path inside the snapshot ("/home/a/file"); invalid UTF-8 shown with U+FFFD. */
  path: string;
  node: TreeNode;
}

/** Yields every entry below tree `treeId`, parents before their children. */
export async function* walkTree(
  repo: Repository,
  treeId: string,
  options: { prefix?: string; signal?: AbortSignal } = {},
): AsyncIterable<WalkEntry> {
  const prefix = options.prefix ?? '';
  for await (const node of repo.treeEntries(treeId, options.signal)) {
    const path = `${prefix}/${nodeName(node)}`;
    yield { path, node };
    if (node.type === 'dir' && node.subtree) yield* walkTree(repo, node.subtree, { ...options, prefix: path });
  }
}

/**
 * The components of an absolute snapshot path as byte-exact keys (one character per byte), with
 * `.` and `..` resolved. A path given as bytes (a command-line argument that is not UTF-8) keeps
 * them; a string is taken as UTF-8.
 */
export function pathKeys(path: string | Uint8Array): string[] {
  const bytes = typeof path === 'string' ? Buffer.from(path) : Buffer.from(path.buffer, path.byteOffset, path.length);
  const out: string[] = [];
  for (const part of bytes.toString('latin1').split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return out;
}

/** A node's name as a {@link pathKeys} component. */
export function nameKey(node: TreeNode): string {
  const n = node.name;
  return Buffer.from(n.buffer, n.byteOffset, n.byteLength).toString('latin1');
}

/** A path as text for messages (bytes that are not UTF-8 shown as U+FFFD). */
export function pathText(path: string | Uint8Array): string {
  if (typeof path === 'string') return path;
  return Buffer.from(path.buffer, path.byteOffset, path.length).toString('utf8');
}

/**
 * Finds the entry at an absolute `path` in the snapshot rooted at `rootTree`, comparing names
 * byte for byte. "/" yields undefined node with the root tree id. Throws NOT_FOUND when no entry
 * has that path.
 */
export async function findPath(
  repo: Repository,
  rootTree: string,
  path: string | Uint8Array,
  signal?: AbortSignal,
): Promise<{ node?: TreeNode; tree?: string }> {
  const parts = pathKeys(path);
  let tree: string | undefined = rootTree;
  let node: TreeNode | undefined;
  for (const part of parts) {
    if (!tree) throw new CairnError('NOT_FOUND', `${pathText(path)}: not found in the snapshot`);
    node = undefined;
    for await (const n of repo.treeEntries(tree, signal)) {
      if (nameKey(n) === part) {
        node = n;
        break;
      }
    }
    if (!node) throw new CairnError('NOT_FOUND', `${pathText(path)}: not found in the snapshot`);
    tree = node.type === 'dir' ? node.subtree : undefined;
  }
  return { ...(node ? { node } : {}), ...(tree ? { tree } : {}) };
}
