/**
 * Snapshot objects: saving (the commit point of a backup), loading with full validation, listing,
 * and resolving references (`latest`, a full id or a unique id prefix). A snapshot's id is the
 * BLAKE3 of its stored bytes, checked on every load.
 */

import { mapBounded } from '../concurrency.js';
import { CairnError } from '../errors.js';
import { toHex } from '../format/bytes.js';
import { openJson, sealJson } from '../format/sealed-object.js';
import { type Snapshot, type SnapshotDoc, validateSnapshotDoc } from '../format/snapshot.js';
import { blake3 } from '../hashing/index.js';
import { idFromName, SNAPSHOTS_PREFIX, snapshotName } from './names.js';
import type { Repository } from './repository.js';

/** Writes a snapshot; returns it with its id. */
export async function saveSnapshot(repo: Repository, doc: SnapshotDoc, signal?: AbortSignal): Promise<Snapshot> {
  const bytes = sealJson(repo.keys.dataKey, 'snapshot', doc, repo.config.compression);
  const id = toHex(blake3(bytes));
  await repo.store.put(snapshotName(id), bytes, { signal });
  return { ...doc, id };
}

/** Loads and validates one snapshot by full id. */
export async function loadSnapshot(repo: Repository, id: string, signal?: AbortSignal): Promise<Snapshot> {
  const name = snapshotName(id);
  const bytes = await repo.store.get(name, { signal });
  if (toHex(blake3(bytes)) !== id) {
    throw new CairnError('CORRUPT_DATA', `snapshot ${id}: bytes do not match the snapshot id`, {
      details: { snapshotId: id },
    });
  }
  const doc = validateSnapshotDoc(openJson(repo.keys.dataKey, 'snapshot', bytes, name), id);
  return { ...doc, id };
}

/** Ids of every snapshot object. */
export async function listSnapshotIds(repo: Repository, signal?: AbortSignal): Promise<string[]> {
  const ids: string[] = [];
  for await (const obj of repo.store.list(SNAPSHOTS_PREFIX, { signal })) {
    const id = idFromName(obj.name, SNAPSHOTS_PREFIX);
    if (id) ids.push(id);
  }
  return ids;
}

/** A snapshot that could not be loaded. */
export interface SnapshotLoadError {
  id: string;
  error: CairnError;
}

/** Snapshot objects read at once by {@link listSnapshots}. */
const SNAPSHOT_LOADS = 16;

/**
 * Loads every snapshot, oldest first. Damaged snapshots are reported through `onError` (or
 * thrown when no handler is given) and left out.
 */
export async function listSnapshots(
  repo: Repository,
  options: { signal?: AbortSignal; onError?: (e: SnapshotLoadError) => void } = {},
): Promise<Snapshot[]> {
  const ids = await listSnapshotIds(repo, options.signal);
  // Several at once: a repository keeps thousands over the years, and each is a small object read.
  const loaded = await mapBounded(
    ids,
    SNAPSHOT_LOADS,
    async (id, signal): Promise<Snapshot | undefined> => {
      try {
        return await loadSnapshot(repo, id, signal);
      } catch (err) {
        if (!(err instanceof CairnError) || !options.onError || err.code === 'ABORTED') throw err;
        if (err.code !== 'NOT_FOUND') options.onError({ id, error: err }); // NOT_FOUND: removed while listing
        return undefined;
      }
    },
    options.signal,
  );
  const out = loaded.filter((s): s is Snapshot => s !== undefined);
  // Oldest first; at equal times a repaired copy sorts after its original, so "latest" picks it.
  return out.sort(
    (a, b) =>
      Date.parse(a.time) - Date.parse(b.time) ||
      Number(a.original !== undefined) - Number(b.original !== undefined) ||
      (a.id < b.id ? -1 : 1),
  );
}

/** Filters for `latest`. */
export interface SnapshotFilter {
  /** A snapshot of this host, or of any of these (as restic's repeated --host). */
  host?: string | readonly string[];
  /** Only snapshots whose path set equals this one. */
  paths?: string[];
  /** Only snapshots with every one of these tags. */
  tags?: string[];
  kind?: Snapshot['kind'];
}

/** True when `s` passes `filter`. */
export function matchesFilter(s: Snapshot, filter: SnapshotFilter = {}): boolean {
  if (filter.host !== undefined && !hostsOf(filter).includes(s.host)) return false;
  if (filter.kind !== undefined && s.kind !== filter.kind) return false;
  if (filter.paths && [...s.paths].sort().join('\0') !== [...filter.paths].sort().join('\0')) return false;
  if (filter.tags && !filter.tags.every((t) => s.tags.includes(t))) return false;
  return true;
}

function hostsOf(filter: SnapshotFilter): readonly string[] {
  return typeof filter.host === 'string' ? [filter.host] : (filter.host ?? []);
}

/** The filter in words ("host h1 or h2, tag a and b"); empty when it selects everything. */
function describeFilter(filter: SnapshotFilter = {}): string {
  const parts: string[] = [];
  if (filter.host !== undefined) parts.push(`host ${hostsOf(filter).join(' or ')}`);
  if (filter.tags?.length) parts.push(`tag ${filter.tags.join(' and ')}`);
  if (filter.paths?.length) parts.push(`paths ${filter.paths.join(' ')}`);
  if (filter.kind) parts.push(`kind ${filter.kind}`);
  return parts.join(', ');
}

/**
 * Resolves `latest`, a full id or a unique id prefix to a snapshot. Throws NOT_FOUND or
 * AMBIGUOUS_ID with a message saying what to do.
 */
export async function findSnapshot(
  repo: Repository,
  ref: string,
  options: { filter?: SnapshotFilter; signal?: AbortSignal } = {},
): Promise<Snapshot> {
  if (ref === 'latest') {
    const all = await listSnapshots(repo, { signal: options.signal, onError: () => {} });
    const last = all.filter((s) => matchesFilter(s, options.filter)).at(-1);
    if (last) return last;
    const words = describeFilter(options.filter);
    if (!words)
      throw new CairnError('NOT_FOUND', 'no snapshot matches "latest" (the repository has no such snapshots)');
    const where =
      all.length === 0 ? 'the repository has no snapshots' : `none of the repository's ${all.length} snapshots`;
    throw new CairnError('NOT_FOUND', `no snapshot matches "latest" with the filter ${words} (${where})`);
  }
  if (!/^[0-9a-f]{1,64}$/.test(ref)) {
    throw new CairnError('INVALID_ARGUMENT', `"${ref}" is not a snapshot id, id prefix or "latest"`);
  }
  const matches = (await listSnapshotIds(repo, options.signal)).filter((id) => id.startsWith(ref));
  if (matches.length === 0) throw new CairnError('NOT_FOUND', `no snapshot with id ${ref}`);
  if (matches.length > 1) {
    throw new CairnError(
      'AMBIGUOUS_ID',
      `snapshot id prefix ${ref} matches ${matches.length} snapshots; give more digits`,
    );
  }
  return loadSnapshot(repo, matches[0]!, options.signal);
}
