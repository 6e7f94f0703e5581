/**
 * A quick walk that counts files and bytes ahead of the backup, so progress can show totals and an
 * ETA (the way restic does). It runs alongside the backup and never fails it. Its metadata calls go
 * through a {@link MetadataReader} of its own: synchronous while they are fast, so the count costs
 * the main thread (which the backup's walk also needs) as little as possible.
 */
import type { ExcludeMatcher } from './excludes.js';
import { MetadataReader } from './metadata-reader.js';
import { isExcluded, joinRawPath } from './raw-path.js';

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
  const reader = new MetadataReader();
  const totals: ScanTotals = { files: 0, bytes: 0 };
  let last = 0;
  const countFile = (size: bigint) => {
    totals.files++;
    totals.bytes += Number(size);
    if (Date.now() - last > 200) {
      last = Date.now();
      onUpdate(totals);
    }
  };
  const walkDir = async (dir: Buffer, rootDev: bigint): Promise<void> => {
    if (signal?.aborted) return;
    const names = await reader.readdir(dir).catch(() => [] as Buffer[]);
    const kept = names
      .map((name) => ({ name, full: joinRawPath(dir, name) }))
      .filter((c) => !isExcluded(exclude, c.full, c.name));
    const stats = await reader.lstatAll(kept.map((c) => c.full));
    for (let i = 0; i < kept.length; i++) {
      const st = stats[i]!;
      if (!('ino' in st)) continue;
      if (st.isFile()) countFile(st.size);
      else if (st.isDirectory() && !(oneFileSystem && st.dev !== rootDev)) await walkDir(kept[i]!.full, rootDev);
    }
  };
  for (const p of paths) {
    const [st] = await reader.lstatAll([Buffer.from(p)]);
    if (!st || !('ino' in st)) continue;
    if (st.isFile()) countFile(st.size);
    else if (st.isDirectory()) await walkDir(Buffer.from(p), st.dev);
  }
  return totals;
}
