/**
 * @cairn/core: the public API of Cairn's engine. Everything exported here is stable API;
 * anything not exported here is internal.
 */

export { type BackupOptions, type BackupSummary, backup, type StreamSource } from './backup/backup.js';
export { compileExcludes, type ExcludeMatcher } from './backup/excludes.js';
export { BackupScan, type BackupScanScope, type ScanTotals } from './backup/scanner.js';
export * from './chunking/index.js';
export * from './compress/index.js';
export * from './crypto/index.js';
export { CairnError, type ErrorCode, isCairnError, throwIfAborted } from './errors.js';
export * from './format/index.js';
export { deviceNumbers } from './fsmeta/device-number.js';
export * from './hashing/index.js';
export { type RepairIndexSummary, repairIndex } from './maintain/repair-index.js';
export { type RepairedSnapshot, type RepairSnapshotsSummary, repairSnapshots } from './maintain/repair-snapshots.js';
export type { DrillFile, DrillResult } from './maintain/restore-drill.js';
export { type RepositoryStats, repositoryStats, type SnapshotStats, snapshotStats } from './maintain/stats.js';
export { type VerifyOptions, type VerifyProblem, type VerifyReport, verify } from './maintain/verify.js';
export type {
  CairnEvent,
  ErrorEvent,
  EventHandler,
  Operation,
  ProgressEvent,
  StartEvent,
  SummaryEvent,
} from './progress.js';
export { repositoryCacheDir, resolveCacheRoot } from './repo/cache-dir.js';
export { type ChunkerConfig, DEFAULT_CHUNKER, DEFAULT_PACK_SIZE, type RepoConfig } from './repo/config.js';
export type { KeySummary, NewKeyOptions } from './repo/keys.js';
export {
  type FoundLock,
  type LockInfo,
  listLocks,
  type RepositoryLock,
  removeLocks,
  STALE_LOCK_MS,
} from './repo/lock.js';
export { isHexId } from './repo/names.js';
export type { IndexSyncProgress, RepositoryWarning } from './repo/repo-index.js';
export { type InitOptions, type OpenOptions, Repository } from './repo/repository.js';
export {
  findSnapshot,
  listSnapshots,
  loadSnapshot,
  matchesFilter,
  type SnapshotFilter,
  type SnapshotLoadError,
} from './repo/snapshots.js';
export { findPath, type WalkEntry, walkTree } from './repo/tree-walk.js';
export { type RestoreFailure, type RestoreOptions, type RestoreSummary, restore } from './restore/restore.js';
export { prestartWriterThreads } from './restore/writer-pool.js';
export * from './store/index.js';
export { VERSION } from './version.js';
