/**
 * The random restore drill: restores randomly chosen files of randomly chosen snapshots into a
 * temporary folder, exactly as a real restore would, then checks each restored file against the
 * content ids its snapshot recorded (re-hashing the bytes with the repository's id key). This is the
 * data-protection policy's "regular random restore test", runnable from cron.
 */
import { randomInt } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CairnError, throwIfAborted } from '../errors.js';
import { blobId } from '../format/blob.js';
import { toHex } from '../format/bytes.js';
import type { Snapshot } from '../format/snapshot.js';
import type { TreeNode } from '../format/tree.js';
import type { Repository } from '../repo/repository.js';
import { walkTree } from '../repo/tree-walk.js';
import { restore } from '../restore/restore.js';

/** One drilled file. */
export interface DrillFile {
  snapshot: string;
  path: string;
  size: number;
  ok: boolean;
  code?: string;
  message?: string;
}

export interface DrillResult {
  requested: number;
  files: DrillFile[];
  bytes: number;
}

/** Picks up to `k` random file entries of a snapshot with one walk (reservoir sampling). */
async function sample(
  repo: Repository,
  s: Snapshot,
  k: number,
  signal?: AbortSignal,
): Promise<{ path: string; node: TreeNode }[]> {
  const picked: { path: string; node: TreeNode }[] = [];
  let seen = 0;
  for await (const e of walkTree(repo, s.tree, { ...(signal ? { signal } : {}) })) {
    if (e.node.type !== 'file') continue;
    seen++;
    if (picked.length < k) picked.push(e);
    else {
      const j = randomInt(seen);
      if (j < k) picked[j] = e;
    }
  }
  return picked;
}

/** Checks restored bytes against the recorded content ids. */
async function check(repo: Repository, file: string, node: TreeNode, signal?: AbortSignal): Promise<void> {
  const ids = await repo.fileContent(node, signal);
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    if (size !== node.size)
      throw new CairnError('CORRUPT_DATA', `restored ${size} bytes, the snapshot says ${node.size}`);
    let pos = 0;
    for (const id of ids) {
      const loc = await repo.locate(id, signal);
      const buf = new Uint8Array(loc.rawLength);
      const { bytesRead } = await handle.read(buf, 0, buf.length, pos);
      if (bytesRead !== buf.length || toHex(blobId(repo.keys.idKey, buf)) !== id) {
        throw new CairnError(
          'CORRUPT_DATA',
          `restored bytes at offset ${pos} do not match content id ${id.slice(0, 12)}`,
        );
      }
      pos += loc.rawLength;
    }
  } finally {
    await handle.close();
  }
}

/** Runs a drill of `count` files over `snapshots` (optionally only those whose id starts with one of `only`). */
export async function restoreDrill(
  repo: Repository,
  snapshots: Snapshot[],
  count: number,
  only: string[] | undefined,
  signal?: AbortSignal,
): Promise<DrillResult> {
  const pool = only?.length ? snapshots.filter((s) => only.some((p) => s.id.startsWith(p))) : snapshots;
  if (only?.length && pool.length === 0) throw new CairnError('NOT_FOUND', `no snapshot matches ${only.join(', ')}`);
  const result: DrillResult = { requested: count, files: [], bytes: 0 };
  if (pool.length === 0 || count <= 0) return result;
  const perSnapshot = new Map<Snapshot, number>();
  for (let i = 0; i < count; i++) {
    const s = pool[randomInt(pool.length)]!;
    perSnapshot.set(s, (perSnapshot.get(s) ?? 0) + 1);
  }
  const dir = await mkdtemp(join(tmpdir(), 'cairn-drill-'));
  try {
    for (const [s, k] of perSnapshot) {
      for (const { path, node } of await sample(repo, s, k, signal)) {
        throwIfAborted(signal);
        const target = join(dir, `${s.id.slice(0, 8)}-${result.files.length}`);
        const entry: DrillFile = { snapshot: s.id, path, size: node.size ?? 0, ok: false };
        try {
          const r = await restore(repo, s, { target, include: [path], ...(signal ? { signal } : {}) });
          if (r.failures.length > 0) throw new CairnError(r.failures[0]!.code as never, r.failures[0]!.message);
          await check(repo, join(target, path), node, signal);
          entry.ok = true;
          result.bytes += entry.size;
        } catch (err) {
          if ((err as CairnError).code === 'ABORTED') throw err;
          entry.code = (err as CairnError).code ?? 'IO_ERROR';
          entry.message = (err as Error).message;
        }
        result.files.push(entry);
        await rm(target, { recursive: true, force: true });
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return result;
}
