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
 * Finds the entry at an absolute `path` in the snapshot rooted at `rootTree`. "/" yields undefined
 * node with the root tree id. Throws NOT_FOUND when no entry has that path.
 */
export async function findPath(
  repo: Repository,
  rootTree: string,
  path: string,
  signal?: AbortSignal,
): Promise<{ node?: TreeNode; tree?: string }> {
  const parts = path.split('/').filter(Boolean);
  let tree: string | undefined = rootTree;
  let node: TreeNode | undefined;
  for (const part of parts) {
    if (!tree) throw new CairnError('NOT_FOUND', `${path}: not found in the snapshot`);
    node = undefined;
    for await (const n of repo.treeEntries(tree, signal)) {
      if (nodeName(n) === part) {
        node = n;
        break;
      }
    }
    if (!node) throw new CairnError('NOT_FOUND', `${path}: not found in the snapshot`);
    tree = node.type === 'dir' ? node.subtree : undefined;
  }
  return { ...(node ? { node } : {}), ...(tree ? { tree } : {}) };
}
