/**
 * The snapshot filter of the command line's --host, --tag and --path (see core's SnapshotFilter):
 * a repeated --host widens the selection (a snapshot of any of the hosts), every --tag must be
 * there, --path gives exactly the set of paths. Options not given, or given empty, filter nothing.
 */
import type { SnapshotFilter } from '@cairn/core';

export function snapshotFilter(hosts: string[], tags: string[] = [], paths: string[] = []): SnapshotFilter {
  const host = hosts.filter((h) => h !== '');
  return {
    ...(host.length ? { host } : {}),
    ...(tags.length ? { tags } : {}),
    ...(paths.length ? { paths } : {}),
  };
}
