/**
 * A quick walk that counts files and bytes ahead of the backup, so progress can show totals and an
 * ETA (the way restic does). It runs alongside the backup and never fails it.
 */
import * as fsp from 'node:fs/promises';
import type { ExcludeMatcher } from './excludes.js';

export interface ScanTotals {
  files: number;
  bytes: number;
}

export async function scanTotals(
  paths: readonly string[],
  exclude: ExcludeMatcher,
  oneFileSystem: boolean,
  signal: AbortSignal | undefined,
  onUpdate: (t: ScanTotals) => void,
): Promise<ScanTotals> {
  const totals: ScanTotals = { files: 0, bytes: 0 };
  let last = 0;
  const visit = async (path: string, name: string, rootDev: bigint | undefined, root = false): Promise<void> => {
    if (signal?.aborted) return;
    if (!root && exclude(path, name)) return;
    const st = await fsp.lstat(path, { bigint: true }).catch(() => undefined);
    if (!st) return;
    if (st.isFile()) {
      totals.files++;
      totals.bytes += Number(st.size);
      if (Date.now() - last > 200) {
        last = Date.now();
        onUpdate(totals);
      }
    } else if (st.isDirectory()) {
      if (oneFileSystem && rootDev !== undefined && st.dev !== rootDev) return;
      const names = await fsp.readdir(path).catch(() => [] as string[]);
      for (const n of names) await visit(path === '/' ? `/${n}` : `${path}/${n}`, n, rootDev ?? st.dev);
    }
  };
  for (const p of paths) await visit(p, p.split('/').pop() || p, undefined, true);
  return totals;
}
