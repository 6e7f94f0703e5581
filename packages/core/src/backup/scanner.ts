/**
 * A quick walk that counts files and bytes ahead of the backup, so progress can show totals and an
 * ETA (the way restic does). It runs alongside the backup and never fails it. Its metadata calls go
 * through a {@link MetadataReader} of its own: synchronous while they are fast, so the count costs
 * the main thread (which the backup's walk also needs) as little as possible.
 */
import { resolve } from 'node:path';
import { bytesKey } from '../format/bytes.js';
import { compileExcludes, type ExcludeMatcher, readExcludeFiles } from './excludes.js';
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
  options: { gate?: () => Promise<void> | undefined } = {},
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
  // A path given inside another one is counted once, by its own walk (with oneFileSystem, its
  // device bounds the walk below it, as in the backup).
  const given = paths.length > 1 ? new Set(paths.map((p) => bytesKey(Buffer.from(p)))) : undefined;
  const walkDir = async (dir: Buffer, rootDev: bigint): Promise<void> => {
    const gate = options.gate?.();
    if (gate) await gate;
    if (signal?.aborted) return;
    const names = await reader.readdir(dir).catch(() => [] as Buffer[]);
    const kept = names
      .map((name) => ({ name, full: joinRawPath(dir, name) }))
      .filter((c) => !isExcluded(exclude, c.full, c.name) && !given?.has(bytesKey(c.full)));
    const stats = await reader.lstatAll(kept.map((c) => c.full));
    for (let i = 0; i < kept.length; i++) {
      const st = stats[i]!;
      if (!('ino' in st)) continue;
      if (st.isFile()) countFile(st.size);
      else if (st.isDirectory() && !(oneFileSystem && st.dev !== rootDev)) await walkDir(kept[i]!.full, rootDev);
    }
  };
  for (const p of new Set(paths)) {
    const [st] = await reader.lstatAll([Buffer.from(p)]);
    if (!st || !('ino' in st)) continue;
    if (st.isFile()) countFile(st.size);
    else if (st.isDirectory()) await walkDir(Buffer.from(p), st.dev);
  }
  return totals;
}

/** What a {@link BackupScan} counts: the same fields, meaning the same, as in `BackupOptions`. */
export interface BackupScanScope {
  paths: readonly string[];
  excludes?: readonly string[];
  excludeFiles?: readonly string[];
  oneFileSystem?: boolean;
}

/**
 * The count of files and bytes behind a backup's progress totals and ETA, started ahead of the
 * backup. Why: opening a repository derives its key (scrypt, ~0.2 s at the default cost) on one
 * core while the main thread waits; a count started before `Repository.open` is done in that
 * time instead of competing with the backup's walk. Pass it as `BackupOptions.scan`: the backup
 * uses it when it covers exactly what is backed up (else `INVALID_ARGUMENT`), and stops it when it
 * ends. A scan never fails: unreadable entries and exclude files are left out of the count (the
 * backup itself reports them).
 */
export class BackupScan {
  /** Files and bytes counted so far (the final count once {@link done}). */
  readonly totals: ScanTotals = { files: 0, bytes: 0 };
  /** True once every path is counted. */
  done = false;
  /** Resolves with the final count, or the partial one when stopped; never rejects. */
  readonly finished: Promise<ScanTotals>;
  private readonly stopper = new AbortController();
  private readonly scope: Promise<{ paths: string[]; patterns: string[] } | undefined>;
  private readonly oneFileSystem: boolean;
  private listener: ((t: ScanTotals) => void) | undefined;
  private gate: Promise<void> | undefined;
  private readonly releases = new Set<() => void>();

  private constructor(scope: BackupScanScope, signal: AbortSignal | undefined) {
    this.oneFileSystem = !!scope.oneFileSystem;
    const paths = [...new Set(scope.paths.map((p) => resolve(p)))];
    this.scope = readExcludeFiles(scope.excludeFiles ?? []).then(
      (fromFiles) => ({ paths, patterns: [...(scope.excludes ?? []), ...fromFiles] }),
      () => undefined,
    );
    const stop = signal ? AbortSignal.any([this.stopper.signal, signal]) : this.stopper.signal;
    this.finished = this.scope
      .then((s) => {
        if (!s) return this.totals;
        const exclude = compileExcludes(s.patterns, s.paths);
        return scanTotals(s.paths, exclude, this.oneFileSystem, stop, (t) => this.update(t), {
          gate: () => this.gate,
        }).then((t) => {
          this.done = !stop.aborted;
          this.update(t);
          return this.totals;
        });
      })
      .catch(() => this.totals);
  }

  /** Starts counting what a backup of `scope` will read; `signal` stops it. */
  static start(scope: BackupScanScope, signal?: AbortSignal): BackupScan {
    return new BackupScan(scope, signal);
  }

  /** Stops counting (the totals stay as they are). */
  stop(): void {
    this.stopper.abort();
    for (const release of this.releases) release();
  }

  /** @internal Whether this scan counts exactly `paths` (resolved) minus `patterns`. */
  async covers(paths: readonly string[], patterns: readonly string[], oneFileSystem: boolean): Promise<boolean> {
    const s = await this.scope;
    const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((v, i) => v === b[i]);
    return !!s && oneFileSystem === this.oneFileSystem && same(s.paths, paths) && same(s.patterns, patterns);
  }

  /** @internal Calls `listener` with the totals now and on every update. */
  follow(listener: (t: ScanTotals) => void): void {
    this.listener = listener;
    listener(this.totals);
  }

  /** @internal Counts no further directory until `until` settles (the walk goes first). */
  holdUntil(until: Promise<void>): void {
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.releases.add(release);
    void until.finally(release);
    // Every hold must end (or the scan stop) before the count goes on.
    const gate = Promise.all([this.gate, mine]).then(() => {
      this.releases.delete(release);
      if (this.gate === gate) this.gate = undefined;
    });
    this.gate = gate;
  }

  private update(t: ScanTotals): void {
    this.totals.files = t.files;
    this.totals.bytes = t.bytes;
    this.listener?.(this.totals);
  }
}
