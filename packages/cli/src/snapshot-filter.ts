/**
 * The snapshot filters of the command line (--host, --tag, --path). A repeated --host widens the
 * selection, as restic's does: a snapshot of any of the hosts is taken. Tags and paths keep core's
 * meaning (every --tag; exactly the set of --path).
 */
import {
  CairnError,
  findSnapshot,
  listSnapshots,
  matchesFilter,
  type Repository,
  type Snapshot,
  type SnapshotFilter,
} from '@cairn/core';

export interface SnapshotSelection {
  /** A snapshot of one of these hosts (none, or only empty ones: of any host). */
  hosts?: string[];
  tags?: string[];
  paths?: string[];
}

/** The hosts asked for (an empty --host, as before, asks for none). */
function hostsOf(selection: SnapshotSelection): string[] {
  return (selection.hosts ?? []).filter((h) => h !== '');
}

/** True when `s` passes `selection`. */
export function matchesSelection(s: Snapshot, selection: SnapshotSelection): boolean {
  const hosts = hostsOf(selection);
  if (hosts.length > 0 && !hosts.includes(s.host)) return false;
  const rest: SnapshotFilter = {
    ...(selection.tags?.length ? { tags: selection.tags } : {}),
    ...(selection.paths?.length ? { paths: selection.paths } : {}),
  };
  return matchesFilter(s, rest);
}

/** The selection in words, e.g. "host h1 or h2". Empty when it selects everything. */
export function describeSelection(selection: SnapshotSelection): string {
  const parts: string[] = [];
  const hosts = hostsOf(selection);
  if (hosts.length > 0) parts.push(`host ${hosts.join(' or ')}`);
  if (selection.tags?.length) parts.push(`tag ${selection.tags.join(' and ')}`);
  if (selection.paths?.length) parts.push(`paths ${selection.paths.join(' ')}`);
  return parts.join(', ');
}

/**
 * Resolves SNAPSHOT (an id, a unique id prefix or "latest") as core's findSnapshot does; "latest"
 * is the latest snapshot that passes `selection`, and when none does the error says so.
 */
export async function findSelectedSnapshot(
  repo: Repository,
  ref: string,
  selection: SnapshotSelection,
  signal: AbortSignal,
): Promise<Snapshot> {
  const words = describeSelection(selection);
  if (ref !== 'latest' || !words) return findSnapshot(repo, ref, { signal });
  const all = await listSnapshots(repo, { signal, onError: () => {} });
  const last = all.filter((s) => matchesSelection(s, selection)).at(-1);
  if (!last) {
    const where =
      all.length === 0 ? 'the repository has no snapshots' : `none of the repository's ${all.length} snapshots`;
    throw new CairnError('NOT_FOUND', `no snapshot matches "latest" with the filter ${words} (${where})`);
  }
  return last;
}
