/**
 * Directory records: what lets an incremental backup pass over an unchanged directory without
 * loading its tree from the parent snapshot.
 *
 * Why: an unchanged backup's walk used to open every parent tree blob (decrypt, re-hash, decode)
 * and look up every unchanged file's blobs in the index, only to find the directory identical;
 * that was ~40 % of the main thread's work in the benchmark's unchanged backup.
 *
 * What: each backup run writes, for every directory it walks completely (every listed entry made it
 * into the tree), a record under the hash of its path: the run's id, a digest of the directory's
 * entries (names and every lstat field a tree node holds, plus owner names) and the tree id the
 * run built. A directory whose trusted record (see below) already says exactly that keeps it: the
 * record is not written again. Once the run's snapshot is stored, notes map the snapshot id to the
 * run id, and the run id to its chain: itself, then the chain it trusted (the runs whose records it
 * kept). The next run, whose parent is that snapshot, trusts a record only if a run of that chain
 * wrote it: its tree id is then the directory's tree in the parent snapshot, since the parent's run
 * walked that directory and found it as recorded, or wrote the record itself. A chain holds at most
 * 16 runs: the run after that writes every record again and starts a new chain with itself. When a directory's digest equals
 * its record's and every subdirectory has a record too, the walk descends without the parent tree;
 * if every subdirectory comes back with its recorded tree id, so does the directory (the same
 * entries with the same contents encode to the same tree). A subdirectory that changed makes the
 * walk load the parent tree after all, for the file contents it reuses.
 *
 * Why that is safe:
 * - A file counts as unchanged by the same rule as without records (size, mtime, ctime, inode);
 *   the digest covers those and everything else a node holds.
 * - The normal walk also checks that an unchanged file's blobs are still indexed. The records live
 *   in the index cache, which is cleared (records and all) whenever blobs could have left the
 *   repository: a vanished index segment not covered by a present one makes the next sync rebuild
 *   the cache. The blobs of the parent snapshot's trees were all indexed when it was stored.
 * - A run that fails or is cancelled writes no snapshot note, so its records are never trusted, and
 *   the records it wrote replace trusted ones, which are then no longer found; a directory with an
 *   error (unreadable entry, listing failed) gets its record deleted, so the next run walks it
 *   normally and retries.
 * - A kept record of an older run is trusted by a snapshot whose chain names that run, and only if
 *   no later run wrote over it: its tree is the directory as the older run and every run since saw
 *   it (same digest, same tree).
 * - `full` backups write records but never use them.
 *
 * Records are written in batches as the walk goes; they are a cache: losing them costs speed only.
 * A run reads its parent run's records in one pass before the walk when the cache holds few
 * enough (see {@link PRELOAD_MAX}), else one LevelDB lookup per directory.
 */
import { randomBytes } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { BLOB_ID_LENGTH } from '../format/blob.js';
import { bytesEqual, bytesKey, concatBytes, fromHex, toHex } from '../format/bytes.js';
import { groupName, userName } from '../fsmeta/owner-names.js';
import { blake3 } from '../hashing/index.js';
import type { IndexCache } from '../index/index-cache.js';
import type { StatResult } from './metadata-reader.js';

/** Bytes of a run id. */
const RUN_ID_LENGTH = 8;
/** Bytes of a path hash and of an entries digest. */
const DIGEST_LENGTH = 16;
const RECORD_LENGTH = RUN_ID_LENGTH + DIGEST_LENGTH + BLOB_ID_LENGTH;
const DIR_NOTE = 0x77; // 'w' + BLAKE3(path)[0..16] → run id ‖ entries digest ‖ tree id
const RUN_NOTE = 0x72; // 'r' + snapshot id (32 bytes) → id of the run that wrote it
const CHAIN_NOTE = 0x63; // 'c' + run id → the runs whose records hold for its snapshot (itself first)
/**
 * Runs in a chain at most. A run whose parent's chain is this long rewrites every record, and its
 * chain starts again with itself: lookups stay cheap, and records of long-gone runs are replaced.
 */
const MAX_CHAIN = 16;
/** Record writes queued before a batch goes to the cache. */
const WRITE_BATCH = 1024;
/**
 * Batches waiting for the cache at most. Past that (a cache far slower than the walk) this run
 * stops recording and is not trusted later: memory stays bounded, and only speed is lost.
 */
const MAX_PENDING_BATCHES = 16;
/** 64-bit numbers per entry in the digest's input. */
const FIELDS = 10;
/**
 * Records read at most when the parent run's are loaded at once. Past that (a cache holding many
 * trees' records) loading stops, and the walk looks records up directory by directory.
 */
const PRELOAD_MAX = 65_536;

/** A directory as the parent snapshot's run recorded it. */
export interface DirRecord {
  /** Digest of the directory's entries (see {@link DirRecords.digest}). */
  digest: Uint8Array;
  /** The directory's tree id (hex) in the parent snapshot. */
  treeId: string;
}

const owners = { u: new Map<bigint, Buffer>(), g: new Map<bigint, Buffer>() };
/** A user or group name's bytes (memoised: few distinct owners, many entries). */
function nameBytes(kind: 'u' | 'g', id: bigint): Buffer {
  let b = owners[kind].get(id);
  if (!b) {
    b = Buffer.from((kind === 'u' ? userName(Number(id)) : groupName(Number(id))) ?? '');
    owners[kind].set(id, b);
  }
  return b;
}

function noteKey(kind: number, bytes: Uint8Array): Uint8Array {
  const k = new Uint8Array(1 + bytes.length);
  k[0] = kind;
  k.set(bytes, 1);
  return k;
}

const pathHash = (path: Uint8Array) => blake3(path, { length: DIGEST_LENGTH });

/** A record's run id as a set key. */
const runKey = (record: Uint8Array) => bytesKey(record.subarray(0, RUN_ID_LENGTH));

/**
 * The records of the `trusted` runs, read in one pass: an unchanged backup's walk looks one up per
 * directory, and thousands of lookups cost far more than one sequential read (each is a trip
 * through LevelDB's thread pool). Undefined when the cache holds more than {@link PRELOAD_MAX}
 * records (of every tree backed up with it): they are then looked up as the walk goes.
 */
async function loadRecords(
  cache: IndexCache,
  trusted: ReadonlySet<string>,
  max: number,
): Promise<Map<string, Uint8Array> | undefined> {
  const loaded = new Map<string, Uint8Array>();
  let read = 0;
  for await (const batch of cache.notesWithPrefix(new Uint8Array([DIR_NOTE]))) {
    read += batch.length;
    if (read > max) return undefined;
    for (const [key, value] of batch) {
      // The key is DIR_NOTE ‖ path hash.
      if (value.length === RECORD_LENGTH && trusted.has(runKey(value))) loaded.set(bytesKey(key.subarray(1)), value);
    }
  }
  return loaded;
}

/**
 * The runs whose records hold for snapshot `parentId`: its run, then the runs whose records that run
 * kept (the chain it wrote). Empty when the snapshot's run is unknown (no records can be trusted).
 */
async function trustedChain(cache: IndexCache, parentId: string): Promise<Uint8Array[]> {
  const [run] = await cache.getNotes([noteKey(RUN_NOTE, fromHex(parentId, 'snapshot id'))]);
  if (run?.length !== RUN_ID_LENGTH) return [];
  const [chain] = await cache.getNotes([noteKey(CHAIN_NOTE, run)]);
  // Written with the snapshot note by every run since chains exist; runs before them: their own.
  if (!chain || chain.length % RUN_ID_LENGTH !== 0 || !bytesEqual(chain.subarray(0, RUN_ID_LENGTH), run)) return [run];
  const runs: Uint8Array[] = [];
  for (let i = 0; i < chain.length && runs.length < MAX_CHAIN; i += RUN_ID_LENGTH) {
    runs.push(chain.subarray(i, i + RUN_ID_LENGTH));
  }
  return runs;
}

/** Reads the records of one backup's parent and writes this run's (see the module comment). */
export class DirRecords {
  private queued: { key: Uint8Array; value: Uint8Array | undefined }[] = [];
  private writing: Promise<void> = Promise.resolve();
  private pendingBatches = 0;
  /** A write failed: this run's snapshot note is not written, so none of its records is trusted. */
  private failed = false;

  private readonly trustedRuns: ReadonlySet<string>;
  /** Every directory gets a record of this run (its chain starts again), kept ones too. */
  private readonly rewriteAll: boolean;
  /** The trusted runs' records by path hash (latin1), when they were few enough to load at once. */
  private loaded: Map<string, Uint8Array> | undefined;

  private constructor(
    private readonly cache: IndexCache,
    private readonly run: Uint8Array,
    /** The runs whose records hold for the parent snapshot (see trustedChain); empty: none. */
    private readonly trusted: readonly Uint8Array[],
  ) {
    this.trustedRuns = new Set(trusted.map(bytesKey));
    this.rewriteAll = trusted.length === 0 || trusted.length >= MAX_CHAIN;
  }

  /**
   * Opens the records of `cache` for a new run. `parentId`: the parent snapshot, whose run's
   * records are used when `use` (not for `full` backups). `preloadMax`: see {@link PRELOAD_MAX}.
   */
  static async open(
    cache: IndexCache,
    parentId: string | undefined,
    use: boolean,
    preloadMax = PRELOAD_MAX,
  ): Promise<DirRecords> {
    const trusted = use && parentId ? await trustedChain(cache, parentId) : [];
    const records = new DirRecords(cache, new Uint8Array(randomBytes(RUN_ID_LENGTH)), trusted);
    if (records.usable) records.loaded = await loadRecords(cache, records.trustedRuns, preloadMax);
    return records;
  }

  /** True when the parent snapshot's runs are known (lookups can find something). */
  get usable(): boolean {
    return this.trusted.length > 0;
  }

  /** The trusted records of these directories (undefined where none can be trusted). */
  async lookup(paths: readonly Uint8Array[]): Promise<(DirRecord | undefined)[]> {
    if (this.trusted.length === 0 || paths.length === 0) return paths.map(() => undefined);
    const loaded = this.loaded;
    const values = loaded
      ? paths.map((p) => loaded.get(bytesKey(pathHash(p))))
      : await this.cache.getNotes(paths.map((p) => noteKey(DIR_NOTE, pathHash(p))));
    return values.map((v) => {
      if (v?.length !== RECORD_LENGTH || !this.trustedRuns.has(runKey(v))) return undefined;
      return {
        digest: v.subarray(RUN_ID_LENGTH, RUN_ID_LENGTH + DIGEST_LENGTH),
        treeId: toHex(v.subarray(RUN_ID_LENGTH + DIGEST_LENGTH)),
      };
    });
  }

  /**
   * Digest of a directory's entries: each name with every lstat field a tree node takes (and the
   * owner names it records), in listing order. Undefined when an entry could not be stat'ed (such a
   * directory is never recorded).
   */
  digest(entries: readonly { name: Uint8Array }[], stats: readonly StatResult[]): Uint8Array | undefined {
    // Layout: every entry's ten numbers as 64-bit words first (a BigUint64Array takes the bigints
    // as they are, wrapping negative times), then every entry's name and owner names, each
    // preceded by its length.
    const n = entries.length;
    let textBytes = 0;
    for (let i = 0; i < n; i++) {
      const st = stats[i]!;
      if (!('ino' in st)) return undefined;
      textBytes += 12 + entries[i]!.name.length + nameBytes('u', st.uid).length + nameBytes('g', st.gid).length;
    }
    const buf = new Uint8Array(n * FIELDS * 8 + textBytes);
    const words = new BigUint64Array(buf.buffer, 0, n * FIELDS);
    const lengths = new DataView(buf.buffer);
    let at = n * FIELDS * 8;
    for (let i = 0; i < n; i++) {
      const st = stats[i] as BigIntStats;
      const w = i * FIELDS;
      words[w] = st.mode;
      words[w + 1] = st.uid;
      words[w + 2] = st.gid;
      words[w + 3] = st.size;
      words[w + 4] = st.ino;
      words[w + 5] = st.dev;
      words[w + 6] = st.nlink;
      words[w + 7] = st.rdev;
      words[w + 8] = st.mtimeNs;
      words[w + 9] = st.ctimeNs;
      for (const text of [entries[i]!.name, nameBytes('u', st.uid), nameBytes('g', st.gid)]) {
        lengths.setUint32(at, text.length, true);
        buf.set(text, at + 4);
        at += 4 + text.length;
      }
    }
    return blake3(buf, { length: DIGEST_LENGTH });
  }

  /**
   * Records a directory this run walked completely, with the tree id it got. `kept`: the trusted
   * record the walk found for it; when it says the same, it stays (this run's chain names its run).
   */
  record(path: Uint8Array, digest: Uint8Array, treeId: string, kept?: DirRecord): void {
    if (kept && !this.rewriteAll && kept.treeId === treeId && bytesEqual(kept.digest, digest)) return;
    const value = new Uint8Array(RECORD_LENGTH);
    value.set(this.run, 0);
    value.set(digest, RUN_ID_LENGTH);
    value.set(fromHex(treeId, 'tree id'), RUN_ID_LENGTH + DIGEST_LENGTH);
    this.queue({ key: noteKey(DIR_NOTE, pathHash(path)), value });
  }

  /** Deletes a directory's record (it was not walked completely: the next run walks it normally). */
  forget(path: Uint8Array): void {
    this.queue({ key: noteKey(DIR_NOTE, pathHash(path)), value: undefined });
  }

  private queue(op: { key: Uint8Array; value: Uint8Array | undefined }): void {
    this.queued.push(op);
    if (this.queued.length >= WRITE_BATCH) this.flush();
  }

  private flush(): void {
    const ops = this.queued;
    this.queued = [];
    if (this.pendingBatches >= MAX_PENDING_BATCHES) this.failed = true;
    if (ops.length === 0 || this.failed) return;
    this.pendingBatches++;
    // One write at a time, in order: a later record of the same path must win.
    this.writing = this.writing.then(() =>
      this.cache
        .writeNotes(ops)
        .catch(() => {
          this.failed = true;
        })
        .finally(() => {
          this.pendingBatches--;
        }),
    );
  }

  /** Writes what is queued, then the note that makes this run's records trusted for `snapshotId`. */
  async commit(snapshotId: string): Promise<void> {
    this.flush();
    await this.writing;
    if (this.failed) return;
    const chain = this.rewriteAll ? [this.run] : [this.run, ...this.trusted];
    await this.cache
      .writeNotes([
        { key: noteKey(CHAIN_NOTE, this.run), value: concatBytes(chain) },
        { key: noteKey(RUN_NOTE, fromHex(snapshotId, 'snapshot id')), value: this.run },
      ])
      .catch(() => {});
  }

  /** Waits for writes under way (before the cache is closed), without trusting this run. */
  async settle(): Promise<void> {
    this.queued = [];
    await this.writing;
  }
}
