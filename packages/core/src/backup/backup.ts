/**
 * `backup`: stores directory trees, single files or a named byte stream as a new snapshot.
 *
 * Order of writes, which is what makes a backup safe to interrupt at any point: packs, then the
 * index segments naming them (checkpoints as the backup goes), then — only when everything it
 * references is stored — the snapshot. A cancelled or failed backup writes no snapshot, but the
 * packs it stored are indexed so the next run reuses them.
 */
import { lstat } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import { resolve } from 'node:path';
import { CairnError, throwIfAborted } from '../errors.js';
import {
  type BackupKind,
  type BackupStats,
  type DataClass,
  MAX_SNAPSHOT_ERRORS,
  type Snapshot,
  type SnapshotDoc,
} from '../format/snapshot.js';
import { encodeTree, type TreeNode } from '../format/tree.js';
import { type EventHandler, ProgressReporter } from '../progress.js';
import type { Repository } from '../repo/repository.js';
import { findSnapshot, listSnapshots, saveSnapshot } from '../repo/snapshots.js';
import { VERSION } from '../version.js';
import { ContentPool } from './content-pool.js';
import { DirRecords } from './dir-records.js';
import { compileExcludes, readExcludeFiles } from './excludes.js';
import { Packer } from './packer.js';
import { BackupScan } from './scanner.js';
import { TreeBuilder } from './tree-builder.js';

/** A named byte stream to back up as one file (e.g. a database dump piped to stdin). */
export interface StreamSource {
  /** File name in the snapshot (no slashes). */
  name: string;
  source: AsyncIterable<Uint8Array>;
}

/** Options of {@link backup}. Give `paths` or `stream`. */
export interface BackupOptions {
  /** Directories and files to back up (resolved to absolute paths). */
  paths?: string[];
  /** A byte stream to store as one file. */
  stream?: StreamSource;
  /**
   * Default `incremental`. A `differential` with no `full` snapshot of the same host and paths to
   * be based on is upgraded to a `full` one (as Bacula does): it reads everything anyway, and the
   * next differentials then have their base. The summary and snapshot record the kind that ran.
   */
  kind?: BackupKind;
  tags?: string[];
  /** Who runs the backup (default: the OS user). */
  operator?: string;
  /** Data class (default `general`). */
  class?: DataClass;
  /** Host name recorded (default: this machine's). */
  host?: string;
  /** Exclude patterns (see `compileExcludes`). */
  excludes?: string[];
  /** Files with one exclude pattern per line. */
  excludeFiles?: string[];
  /** Do not cross file-system boundaries below each source path. */
  oneFileSystem?: boolean;
  /** Use this snapshot (id or prefix) as parent instead of choosing one. */
  parent?: string;
  /** Worker threads for content (default: one per core; 0 = main thread only). */
  threads?: number;
  /**
   * Count the files and bytes to back up alongside the backup, so progress events carry totals
   * and an ETA (default true). Costs a second walk of the tree: turn off when nobody shows progress.
   * A {@link BackupScan} started before the repository was opened is used instead of a new count
   * (it must cover these paths, excludes and `oneFileSystem`); the backup stops it when it ends.
   */
  scan?: boolean | BackupScan;
  signal?: AbortSignal;
  /** Receives start, progress, error and summary events. */
  onEvent?: EventHandler;
}

/** What a backup did (also the `summary` event, minus `type`/`operation`). */
export interface BackupSummary {
  snapshotId: string;
  snapshot: Snapshot;
  kind: BackupKind;
  parent: string | null;
  files: { new: number; changed: number; unchanged: number };
  dirs: number;
  bytes: { read: number; added: number; stored: number; total: number };
  durationMs: number;
  partial: boolean;
  errors: number;
}

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return String(process.getuid?.() ?? 'unknown');
  }
}

/** Delay before the progress totals scan starts (see where it is started). */
const SCAN_DELAY_MS = 1000;

async function chooseParent(
  repo: Repository,
  kind: BackupKind,
  host: string,
  paths: string[],
  explicit: string | undefined,
  signal?: AbortSignal,
): Promise<Snapshot | undefined> {
  if (explicit) return findSnapshot(repo, explicit, { signal });
  const same = (await listSnapshots(repo, { signal, onError: () => {} })).filter(
    (s) => s.host === host && [...s.paths].sort().join('\0') === [...paths].sort().join('\0') && !s.partial,
  );
  const candidates = kind === 'differential' ? same.filter((s) => s.kind === 'full') : same;
  return candidates[candidates.length - 1];
}

/** Runs a backup into `repo` and writes its snapshot. */
export async function backup(repo: Repository, options: BackupOptions): Promise<BackupSummary> {
  try {
    return await runBackup(repo, options);
  } finally {
    // A count handed over is the backup's: it ends with it, whatever the outcome.
    if (typeof options.scan === 'object') options.scan.stop();
  }
}

async function runBackup(repo: Repository, options: BackupOptions): Promise<BackupSummary> {
  const started = new Date();
  let kind = options.kind ?? 'incremental';
  const host = options.host ?? hostname();
  const signal = options.signal;
  if (!!options.paths?.length === !!options.stream) {
    throw new CairnError('INVALID_ARGUMENT', 'give either paths or a stream to back up');
  }
  if (
    options.stream &&
    (!options.stream.name ||
      options.stream.name.includes('/') ||
      options.stream.name === '.' ||
      options.stream.name === '..')
  ) {
    throw new CairnError('INVALID_ARGUMENT', `invalid stream name ${JSON.stringify(options.stream.name)}`);
  }
  // A path named twice (`backup src src/`) is one path: recorded once, and the parent still found.
  const paths = options.stream ? [`/${options.stream.name}`] : [...new Set(options.paths!.map((p) => resolve(p)))];
  const patterns = [...(options.excludes ?? []), ...(await readExcludeFiles(options.excludeFiles ?? []))];
  const exclude = compileExcludes(patterns, paths);
  const givenScan = typeof options.scan === 'object' ? options.scan : undefined;
  if (givenScan && !(await givenScan.covers(paths, patterns, !!options.oneFileSystem))) {
    throw new CairnError(
      'INVALID_ARGUMENT',
      'the totals scan given was started for other paths, excludes or file-system option than this backup',
      { details: { field: 'scan' } },
    );
  }

  if (!options.stream) {
    const exists = await Promise.all(
      paths.map((p) =>
        lstat(p).then(
          () => true,
          () => false,
        ),
      ),
    );
    if (!exists.includes(true)) {
      throw new CairnError(
        'NOT_FOUND',
        `nothing to back up: ${paths.length === 1 ? `${paths[0]} does not exist` : 'none of the paths exist'}`,
      );
    }
  }
  const lock = await repo.lock({ exclusive: false, operation: 'backup', ...(signal ? { signal } : {}) });
  let pool: ContentPool | undefined;
  let packer: Packer | undefined;
  let records: DirRecords | undefined;
  let scanTimer: NodeJS.Timeout | undefined;
  /** The count this backup started itself (one handed over is stopped by {@link backup}). */
  let ownScan: BackupScan | undefined;
  try {
    const index = await repo.index(signal);
    const parent = await chooseParent(repo, kind, host, paths, options.parent, signal);
    if (kind === 'differential' && !parent) kind = 'full';
    const progress = new ProgressReporter('backup', options.onEvent);
    progress.start({ repository: repo.store.location, paths, kind, parent: parent?.id ?? null, host });
    packer = new Packer(repo, index, { ...(signal ? { signal } : {}) });
    const chunker = { ...repo.config.chunker, seed: repo.keys.chunkerSeed };
    const settings = {
      dataKey: repo.keys.dataKey,
      idKey: repo.keys.idKey,
      chunker,
      compression: repo.config.compression,
    };
    pool = new ContentPool(settings, packer, options.stream ? 0 : options.threads, (bytes) => {
      progress.bytesDone += bytes;
      progress.tick();
    });
    packer.sealer = pool;
    // Every file will be read: the workers start now, while the walk reaches its first files
    // (with a parent, only on the first changed file: an unchanged backup never needs them).
    if (!options.stream && (!parent || kind === 'full')) pool.start();
    // Directory records are written by every backup and used by those that trust their parent.
    records = options.stream ? undefined : await DirRecords.open(index.cache, parent?.id, kind !== 'full');
    const builder = new TreeBuilder({
      repo,
      index,
      packer,
      pool,
      kind,
      exclude,
      oneFileSystem: !!options.oneFileSystem,
      progress,
      ...(records ? { records } : {}),
      ...(signal ? { signal } : {}),
    });

    const follow = (counting: BackupScan) => {
      counting.follow((t) => {
        progress.filesTotal = t.files;
        progress.bytesTotal = t.bytes;
      });
      void counting.finished.then(() => {
        progress.totalsFinal = counting.done;
      });
    };
    const startScan = () => {
      ownScan = BackupScan.start({ paths, excludes: patterns, oneFileSystem: !!options.oneFileSystem }, signal);
      follow(ownScan);
    };
    let rootTree: string;
    if (options.stream) {
      rootTree = await backupStream(repo, builder, pool, packer, options.stream, progress, parent?.tree, signal);
    } else {
      // The count only serves an ETA. An incremental backup with a parent is mostly a walk of
      // metadata that the count would double, and often over within a second: it starts the
      // count only if it is still running after SCAN_DELAY_MS. Backups that read data start it now.
      // A count started before the repository was opened goes on, held back the same way if unfinished.
      const walkFirst = parent !== undefined && kind !== 'full';
      if (givenScan) {
        follow(givenScan);
        const left = SCAN_DELAY_MS - (Date.now() - started.getTime());
        if (walkFirst && !givenScan.done && left > 0)
          givenScan.holdUntil(
            new Promise((resolve) => {
              scanTimer = setTimeout(resolve, left);
            }),
          );
      } else if (options.scan !== false) {
        if (walkFirst) scanTimer = setTimeout(startScan, SCAN_DELAY_MS);
        else startScan();
      }
      rootTree = await builder.buildRoot(paths, parent?.tree);
    }
    await pool.drain(); // every blob handed to the packer
    await packer.flush();
    throwIfAborted(signal);
    progress.tick(true);

    const s = builder.stats;
    const stats: BackupStats = {
      filesNew: s.filesNew,
      filesChanged: s.filesChanged,
      filesUnchanged: s.filesUnchanged,
      dirs: s.dirs,
      bytesRead: s.bytesRead,
      bytesAdded: packer.stats.bytesAdded,
      bytesStored: packer.stats.bytesStored,
      totalBytes: s.totalBytes,
      durationMs: Date.now() - started.getTime(),
    };
    const doc: SnapshotDoc = {
      v: 1,
      time: started.toISOString(),
      host,
      operator: options.operator ?? currentUser(),
      username: currentUser(),
      paths,
      tags: [...new Set(options.tags ?? [])],
      class: options.class ?? 'general',
      kind,
      parent: parent?.id ?? null,
      tree: rootTree,
      programVersion: `cairn ${VERSION}`,
      partial: builder.unreadable > 0,
      errors: builder.errors.slice(0, MAX_SNAPSHOT_ERRORS),
      errorCount: builder.errorCount,
      excludes: patterns,
      stats,
    };
    const snapshot = await saveSnapshot(repo, doc, signal);
    await records?.commit(snapshot.id);
    // Housekeeping: merge this run's checkpoint segments (one per pack) into one. The snapshot is
    // already safe, and an interrupted or failed merge loses nothing (the merged segment is stored
    // before any part is deleted), so a failure here does not fail the backup.
    await index.compactSession(signal).catch(() => {});
    const summary: BackupSummary = {
      snapshotId: snapshot.id,
      snapshot,
      kind,
      parent: doc.parent,
      files: { new: s.filesNew, changed: s.filesChanged, unchanged: s.filesUnchanged },
      dirs: s.dirs,
      bytes: { read: s.bytesRead, added: stats.bytesAdded, stored: stats.bytesStored, total: s.totalBytes },
      durationMs: Date.now() - started.getTime(),
      partial: doc.partial,
      errors: builder.errorCount,
    };
    const { snapshot: _omit, ...event } = summary;
    progress.summary({ ...event });
    return summary;
  } catch (err) {
    await pool?.close();
    await packer?.salvage();
    await records?.settle();
    throw err;
  } finally {
    // The totals scan only feeds progress: stop it (it would otherwise keep walking the tree).
    clearTimeout(scanTimer);
    ownScan?.stop();
    await pool?.close();
    await lock.release();
  }
}

async function backupStream(
  repo: Repository,
  builder: TreeBuilder,
  pool: ContentPool,
  packer: Packer,
  stream: StreamSource,
  progress: ProgressReporter,
  parentTree: string | undefined,
  signal: AbortSignal | undefined,
): Promise<string> {
  const now = BigInt(Date.now()) * 1_000_000n;
  progress.currentFile = stream.name;
  const result = await pool.processStream(stream.source, signal);
  progress.filesDone = 1;
  builder.stats.bytesRead = result.size;
  builder.stats.totalBytes = result.size;
  const node: TreeNode = {
    name: new Uint8Array(Buffer.from(stream.name)),
    type: 'file',
    mode: 0o644,
    uid: process.getuid?.() ?? 0,
    gid: process.getgid?.() ?? 0,
    mtimeNs: now,
    ctimeNs: now,
    inode: 0n,
    device: 0n,
    links: 1,
    size: result.size,
  };
  await builder.setContent(node, result.content);
  // New, changed or unchanged against the parent's stream of the same name (content ids compared;
  // a long content goes into list blobs, whose ids are those of their contents too).
  let before: TreeNode | undefined;
  if (parentTree) {
    for await (const n of repo.treeEntries(parentTree, signal)) {
      if (n.type === 'file' && Buffer.from(n.name).equals(node.name)) before = n;
    }
  }
  const same = (a: TreeNode, b: TreeNode) =>
    JSON.stringify([a.content ?? [], a.contentLists ?? []]) === JSON.stringify([b.content ?? [], b.contentLists ?? []]);
  if (!before) builder.stats.filesNew = 1;
  else if (same(before, node)) builder.stats.filesUnchanged = 1;
  else builder.stats.filesChanged = 1;
  return packer.addRaw('tree', encodeTree({ nodes: [node] }), repo.config.compression);
}
