/**
 * `repair snapshots`: for every snapshot that references lost data, writes a NEW snapshot without
 * it — files whose content is missing or damaged are dropped, unreadable directories become empty —
 * and says exactly what was dropped. Old snapshots are never edited or removed (retention decides
 * about them later); the new one records the old one's id in `original` and is tagged "repaired".
 *
 * What is lost is what `verify` finds: blobs no index lists, blobs whose pack is missing, blobs of
 * a pack whose bytes no longer match its id that fail to open (the others in it are intact and
 * kept), unreadable trees; with `readData`, also blobs that fail authentication in any pack.
 * `verify` runs first, so a repair sees exactly the damage a check reports.
 */

import { Packer } from '../backup/packer.js';
import { CairnError, throwIfAborted } from '../errors.js';
import type { Snapshot, SnapshotDoc } from '../format/snapshot.js';
import { decodeContentList, nodeName, type TreeNode } from '../format/tree.js';
import { type EventHandler, ProgressReporter } from '../progress.js';
import { DATA_PREFIX, idFromName } from '../repo/names.js';
import type { Repository } from '../repo/repository.js';
import { listSnapshots, saveSnapshot } from '../repo/snapshots.js';
import { verify } from './verify.js';

export interface RepairedSnapshot {
  original: string;
  replacement: string;
  /** Paths that were dropped (files) or emptied (directories), at most 1000. */
  dropped: string[];
  droppedCount: number;
}

export interface RepairSnapshotsSummary {
  snapshots: number;
  repaired: RepairedSnapshot[];
  /**
   * Snapshot files that cannot be read at all (damaged, or a key that does not open them): there is
   * nothing to repair them from. They are left as they are; `verify` reports them too.
   */
  unreadable: { id: string; code: string; message: string }[];
  durationMs: number;
}

interface Rewritten {
  tree: string;
  /** Paths relative to the rewritten directory. */
  dropped: string[];
}

export async function repairSnapshots(
  repo: Repository,
  options: { readData?: boolean; dryRun?: boolean; signal?: AbortSignal; onEvent?: EventHandler } = {},
): Promise<RepairSnapshotsSummary> {
  const signal = options.signal;
  const progress = new ProgressReporter('repair', options.onEvent);
  const damaged = new Set<string>();
  await verify(repo, {
    readData: !!options.readData,
    ...(signal ? { signal } : {}),
    onDamage: (blobs, trees) => {
      for (const id of blobs) damaged.add(id);
      for (const id of trees) damaged.add(id);
    },
  });
  const lock = await repo.lock({ exclusive: true, operation: 'repair snapshots', ...(signal ? { signal } : {}) });
  try {
    const index = await repo.index(signal);
    const packs = new Set<string>();
    for await (const obj of repo.store.list(DATA_PREFIX, { signal })) {
      const id = idFromName(obj.name, DATA_PREFIX);
      if (id) packs.add(id);
    }
    const lost = async (ids: string[]): Promise<boolean> => {
      if (ids.some((id) => damaged.has(id))) return true;
      const locs = await index.lookup(ids.map((id) => Buffer.from(id, 'hex')));
      return locs.some((l) => !l || !packs.has(l.packId));
    };
    const packer = new Packer(repo, index, { ...(signal ? { signal } : {}) });
    const memo = new Map<string, Rewritten>();
    const unreadable: RepairSnapshotsSummary['unreadable'] = [];
    const snapshots = await listSnapshots(repo, {
      ...(signal ? { signal } : {}),
      onError: (e) => unreadable.push({ id: e.id, code: e.error.code, message: e.error.message }),
    });
    progress.filesTotal = snapshots.length;
    progress.totalsFinal = true;
    progress.start({ what: 'snapshots', snapshots: snapshots.length, readData: !!options.readData });

    const storeTree = (nodes: TreeNode[]) => packer.addTree(nodes, repo.config.compression);

    const rewrite = async (treeId: string): Promise<Rewritten> => {
      const cached = memo.get(treeId);
      if (cached) return cached;
      throwIfAborted(signal);
      let nodes: TreeNode[];
      try {
        if (damaged.has(treeId)) throw new CairnError('CORRUPT_DATA', 'damaged');
        nodes = [];
        for await (const n of repo.treeEntries(treeId, signal)) nodes.push(n);
      } catch (err) {
        if ((err as CairnError).code === 'ABORTED') throw err;
        const r = { tree: await storeTree([]), dropped: ['(directory contents lost)'] };
        memo.set(treeId, r);
        return r;
      }
      const kept: TreeNode[] = [];
      const dropped: string[] = [];
      for (const n of nodes) {
        const name = nodeName(n);
        if (n.type === 'dir' && n.subtree) {
          const sub = await rewrite(n.subtree);
          for (const d of sub.dropped) dropped.push(`${name}/${d}`);
          kept.push(sub.tree === n.subtree ? n : { ...n, subtree: sub.tree });
        } else if (n.type === 'file') {
          let ids: string[] | undefined;
          try {
            if ((n.contentLists ?? []).some((l) => damaged.has(l))) throw new Error('damaged content list');
            ids = n.content ?? (await contentFromLists(repo, n.contentLists ?? [], signal));
          } catch (err) {
            if ((err as CairnError).code === 'ABORTED') throw err;
          }
          if (!ids || (await lost(ids))) dropped.push(name);
          else kept.push(n);
        } else kept.push(n);
      }
      const r = { tree: dropped.length === 0 ? treeId : await storeTree(kept), dropped };
      memo.set(treeId, r);
      return r;
    };

    const repaired: RepairedSnapshot[] = [];
    const docs: { old: Snapshot; doc: SnapshotDoc; dropped: string[] }[] = [];
    for (const s of snapshots) {
      const r = await rewrite(s.tree);
      progress.filesDone++;
      progress.tick();
      if (r.dropped.length === 0) continue;
      const dropped = r.dropped.map((d) => `/${d}`);
      const { id: _old, ...rest } = s;
      const doc: SnapshotDoc = {
        ...rest,
        tree: r.tree,
        original: s.id,
        tags: [...new Set([...s.tags, 'repaired'])],
        notes: [
          ...(s.notes ?? []),
          `repaired ${new Date().toISOString()}: ${dropped.length} path(s) dropped because their data is lost: ${dropped.slice(0, 20).join(', ')}${dropped.length > 20 ? ', …' : ''}`,
        ],
      };
      docs.push({ old: s, doc, dropped });
      for (const d of dropped)
        progress.error({
          path: `${s.id.slice(0, 8)}:${d}`,
          code: 'DATA_LOST',
          message: 'dropped from the repaired snapshot',
        });
    }
    if (!options.dryRun) {
      await packer.flush();
      for (const { old, doc, dropped } of docs) {
        const saved = await saveSnapshot(repo, doc, signal);
        repaired.push({
          original: old.id,
          replacement: saved.id,
          dropped: dropped.slice(0, 1000),
          droppedCount: dropped.length,
        });
      }
    } else {
      for (const { old, dropped } of docs)
        repaired.push({
          original: old.id,
          replacement: '',
          dropped: dropped.slice(0, 1000),
          droppedCount: dropped.length,
        });
    }
    const summary: RepairSnapshotsSummary = {
      snapshots: snapshots.length,
      repaired,
      unreadable,
      durationMs: Date.now() - progress.started,
    };
    progress.summary({ ...summary });
    return summary;
  } finally {
    await lock.release();
  }
}

async function contentFromLists(repo: Repository, lists: string[], signal?: AbortSignal): Promise<string[]> {
  const ids: string[] = [];
  for (const l of lists) ids.push(...decodeContentList(await repo.readBlob(l, signal)));
  return ids;
}
