/**
 * Repository and snapshot statistics: how much is stored, how much the snapshots hold, and the
 * deduplication that separates the two.
 */
import type { Snapshot } from '../format/snapshot.js';
import { DATA_PREFIX, idFromName } from '../repo/names.js';
import type { Repository } from '../repo/repository.js';
import { listSnapshots } from '../repo/snapshots.js';
import { walkTree } from '../repo/tree-walk.js';

export interface RepositoryStats {
  /** Snapshots read (those that cannot be read are counted in `unreadableSnapshots`, not here). */
  snapshots: number;
  /** Snapshot files that cannot be read (damaged); `verify` names them. */
  unreadableSnapshots: number;
  packs: number;
  /** Bytes of packs (what the repository occupies). */
  packBytes: number;
  dataBlobs: number;
  treeBlobs: number;
  /** Raw bytes of all unique data blobs. */
  uniqueBytes: number;
  /** Sum of the file sizes of every snapshot. */
  snapshotBytes: number;
  /** snapshotBytes / packBytes. */
  dedupRatio: number;
}

export async function repositoryStats(repo: Repository, signal?: AbortSignal): Promise<RepositoryStats> {
  let unreadableSnapshots = 0;
  const snaps = await listSnapshots(repo, { ...(signal ? { signal } : {}), onError: () => unreadableSnapshots++ });
  let packs = 0;
  let packBytes = 0;
  for await (const obj of repo.store.list(DATA_PREFIX, { signal })) {
    if (!idFromName(obj.name, DATA_PREFIX)) continue;
    packs++;
    packBytes += obj.size;
  }
  const index = await repo.index(signal);
  let dataBlobs = 0;
  let treeBlobs = 0;
  let uniqueBytes = 0;
  for await (const loc of index.cache.locations()) {
    if (loc.type === 'data') {
      dataBlobs++;
      uniqueBytes += loc.rawLength;
    } else treeBlobs++;
  }
  const snapshotBytes = snaps.reduce((n, s) => n + s.stats.totalBytes, 0);
  return {
    snapshots: snaps.length,
    unreadableSnapshots,
    packs,
    packBytes,
    dataBlobs,
    treeBlobs,
    uniqueBytes,
    snapshotBytes,
    dedupRatio: packBytes > 0 ? snapshotBytes / packBytes : 0,
  };
}

export interface SnapshotStats {
  snapshotId: string;
  files: number;
  dirs: number;
  /** Sum of file sizes. */
  totalBytes: number;
  /** Distinct data blobs the snapshot references, and their raw size. */
  uniqueBlobs: number;
  uniqueBytes: number;
}

export async function snapshotStats(
  repo: Repository,
  snapshot: Snapshot,
  signal?: AbortSignal,
): Promise<SnapshotStats> {
  const seen = new Set<string>();
  const index = await repo.index(signal);
  let files = 0;
  let dirs = 0;
  let totalBytes = 0;
  let uniqueBytes = 0;
  for await (const { node } of walkTree(repo, snapshot.tree, { ...(signal ? { signal } : {}) })) {
    if (node.type === 'dir') dirs++;
    if (node.type !== 'file') continue;
    files++;
    totalBytes += node.size ?? 0;
    // Distinct within the file too (a file of zeros repeats one blob).
    const fresh: string[] = [];
    for (const id of await repo.fileContent(node, signal)) {
      if (seen.has(id)) continue;
      seen.add(id);
      fresh.push(id);
    }
    const locs = await index.lookup(fresh.map((id) => Buffer.from(id, 'hex')));
    for (const l of locs) uniqueBytes += l?.rawLength ?? 0;
  }
  return { snapshotId: snapshot.id, files, dirs, totalBytes, uniqueBlobs: seen.size, uniqueBytes };
}
