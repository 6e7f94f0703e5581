/**
 * Snapshots (`snapshots/<id>`): the record of one backup and its commit point. A snapshot is a
 * sealed JSON object written last, after every pack and index segment it needs; its id is the
 * BLAKE3 of its stored bytes. This module defines the document and validates it on read.
 */
import { CairnError } from '../errors.js';

/** Kind of backup, as the data-protection policy names them. */
export type BackupKind = 'full' | 'incremental' | 'differential';
/** Data class of what was backed up (drives retention and reports). */
export type DataClass = 'critical' | 'important' | 'general';

export const BACKUP_KINDS: readonly BackupKind[] = ['full', 'incremental', 'differential'];
export const DATA_CLASSES: readonly DataClass[] = ['critical', 'important', 'general'];

/** Statistics of one backup run. */
export interface BackupStats {
  filesNew: number;
  filesChanged: number;
  filesUnchanged: number;
  dirs: number;
  /** Bytes of file content read from the source. */
  bytesRead: number;
  /** Raw bytes of new blobs (data not yet in the repository). */
  bytesAdded: number;
  /** Bytes written to the store for new blobs, after compression and encryption (packs). */
  bytesStored: number;
  /** Total size of the files in the snapshot. */
  totalBytes: number;
  durationMs: number;
}

/** A problem with one source path during backup. */
export interface SnapshotError {
  path: string;
  message: string;
  code?: string;
}

/** The snapshot document (JSON inside the sealed object). */
export interface SnapshotDoc {
  v: 1;
  /** ISO 8601 time the backup started. */
  time: string;
  host: string;
  /** Who ran the backup (the policy's "operator"). */
  operator: string;
  /** OS account that ran the process. */
  username: string;
  paths: string[];
  tags: string[];
  class: DataClass;
  kind: BackupKind;
  /** Parent snapshot id (hex) the backup compared against, or null. */
  parent: string | null;
  /** Root tree id (hex). */
  tree: string;
  programVersion: string;
  /** True when some files could not be read; `errors` lists them. */
  partial: boolean;
  errors: SnapshotError[];
  /** Number of errors, when more happened than `errors` keeps. */
  errorCount: number;
  excludes: string[];
  stats: BackupStats;
  /** Snapshots this one was derived from by `repair snapshots` (hex ids). */
  original?: string;
  /** Free-form notes written by tools (e.g. what repair dropped). */
  notes?: string[];
}

/** A snapshot with its id. */
export interface Snapshot extends SnapshotDoc {
  id: string;
}

/** Errors kept in a snapshot document (the count covers the rest). */
export const MAX_SNAPSHOT_ERRORS = 1000;

const STAT_KEYS: (keyof BackupStats)[] = [
  'filesNew',
  'filesChanged',
  'filesUnchanged',
  'dirs',
  'bytesRead',
  'bytesAdded',
  'bytesStored',
  'totalBytes',
  'durationMs',
];

function bad(id: string, what: string): never {
  throw new CairnError('CORRUPT_DATA', `snapshot ${id}: ${what}`, { details: { snapshotId: id } });
}

const isStr = (v: unknown): v is string => typeof v === 'string';
const isStrList = (v: unknown): v is string[] => Array.isArray(v) && v.every(isStr);
const HEX_ID = /^[0-9a-f]{64}$/;

/** Validates a decoded snapshot document; throws CORRUPT_DATA naming the bad field. */
export function validateSnapshotDoc(doc: unknown, id: string): SnapshotDoc {
  if (typeof doc !== 'object' || doc === null) bad(id, 'not an object');
  const d = doc as Record<string, unknown>;
  // Only numbers and strings are shown: String() or JSON.stringify of an arbitrary value throws on
  // {"toString":0} (TypeError) or deeply nested arrays (RangeError). Found by fuzzing.
  if (typeof d.v === 'number' && Number.isInteger(d.v) && d.v > 1 && d.v < 2 ** 31) {
    throw new CairnError('UNSUPPORTED_VERSION', `snapshot ${id}: format ${d.v} needs a newer Cairn`, {
      details: { snapshotId: id },
    });
  }
  if (d.v !== 1)
    bad(
      id,
      `unsupported version ${typeof d.v === 'number' || typeof d.v === 'string' ? JSON.stringify(d.v) : typeof d.v}`,
    );
  if (!isStr(d.time) || Number.isNaN(Date.parse(d.time))) bad(id, 'invalid time');
  for (const k of ['host', 'operator', 'username', 'programVersion'] as const)
    if (!isStr(d[k])) bad(id, `invalid ${k}`);
  if (!isStrList(d.paths) || !isStrList(d.tags) || !isStrList(d.excludes)) bad(id, 'invalid paths, tags or excludes');
  if (!DATA_CLASSES.includes(d.class as DataClass)) bad(id, 'invalid class');
  if (!BACKUP_KINDS.includes(d.kind as BackupKind)) bad(id, 'invalid kind');
  if (d.parent !== null && !(isStr(d.parent) && HEX_ID.test(d.parent))) bad(id, 'invalid parent');
  if (!isStr(d.tree) || !HEX_ID.test(d.tree)) bad(id, 'invalid tree id');
  if (typeof d.partial !== 'boolean' || typeof d.errorCount !== 'number') bad(id, 'invalid partial flag');
  if (!Array.isArray(d.errors) || !d.errors.every((e) => e && isStr(e.path) && isStr(e.message)))
    bad(id, 'invalid errors');
  const s = d.stats as Record<string, unknown> | undefined;
  if (!s || !STAT_KEYS.every((k) => typeof s[k] === 'number')) bad(id, 'invalid stats');
  if (d.original !== undefined && !(isStr(d.original) && HEX_ID.test(d.original))) bad(id, 'invalid original');
  if (d.notes !== undefined && !isStrList(d.notes)) bad(id, 'invalid notes');
  return d as unknown as SnapshotDoc;
}
