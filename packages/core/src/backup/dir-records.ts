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
 * run built. Once the run's snapshot is stored, a note maps the snapshot id to the run id. The next
 * run, whose parent is that snapshot, trusts a record only if it was written by the parent's run:
 * its tree id is then the directory's tree in the parent snapshot. When a directory's digest equals
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
 * - A run that fails or is cancelled writes no snapshot note, so its records are never trusted;
 *   a directory with an error (unreadable entry, listing failed) gets its record deleted, so the
 *   next run walks it normally and retries.
 * - `full` backups write records but never use them.
 *
 * Records are written in batches as the walk goes; they are a cache: losing them costs speed only.
 * A run reads its parent run's records in one pass before the walk when the cache holds few
 * enough (see {@link PRELOAD_MAX}), else one LevelDB lookup per directory.
 */
import { randomBytes } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { BLOB_ID_LENGTH } from '../format/blob.js';
import { bytesEqual, fromHex, toHex } from '../format/bytes.js';
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

const pathKey = (path: Uint8Array) => noteKey(DIR_NOTE, blake3(path, { length: DIGEST_LENGTH }));

/** A loaded record's map key: its note key's path hash, one latin1 character per byte. */
const hashKey = (noteKey: Uint8Array) =>
  Buffer.from(noteKey.buffer, noteKey.byteOffset + 1, noteKey.byteLength - 1).toString('latin1');

/**
 * The records of run `trusted`, read in one pass: an unchanged backup's walk looks one up per
 * directory, and thousands of lookups cost far more than one sequential read (each is a trip
 * through LevelDB's thread pool). Undefined when the cache holds more than {@link PRELOAD_MAX}
 * records (of every tree backed up with it): they are then looked up as the walk goes.
 */
async function loadRecords(
  cache: IndexCache,
  trusted: Uint8Array,
  max: number,
): Promise<Map<string, Uint8Array> | undefined> {
  const loaded = new Map<string, Uint8Array>();
  let read = 0;
  for await (const batch of cache.notesWithPrefix(new Uint8Array([DIR_NOTE]))) {
    read += batch.length;
    if (read > max) return undefined;
    for (const [key, value] of batch) {
      if (value.length === RECORD_LENGTH && bytesEqual(value.subarray(0, RUN_ID_LENGTH), trusted)) {
        loaded.set(hashKey(key), value);
      }
    }
  }
  return loaded;
}

/** Reads the records of one backup's parent and writes this run's (see the module comment). */
export class DirRecords {
  private queued: { key: Uint8Array; value: Uint8Array | undefined }[] = [];
  private writing: Promise<void> = Promise.resolve();
  private pendingBatches = 0;
  /** A write failed: this run's snapshot note is not written, so none of its records is trusted. */
  private failed = false;

  private constructor(
    private readonly cache: IndexCache,
    private readonly run: Uint8Array,
    /** The run whose records may be used (the parent snapshot's), if known. */
    private readonly trusted: Uint8Array | undefined,
    /** The trusted run's records by path hash (latin1), when they were few enough to load at once. */
    private readonly loaded: Map<string, Uint8Array> | undefined,
  ) {}

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
    let trusted: Uint8Array | undefined;
    if (use && parentId) {
      const [run] = await cache.getNotes([noteKey(RUN_NOTE, fromHex(parentId, 'snapshot id'))]);
      if (run?.length === RUN_ID_LENGTH) trusted = run;
    }
    const loaded = trusted ? await loadRecords(cache, trusted, preloadMax) : undefined;
    return new DirRecords(cache, new Uint8Array(randomBytes(RUN_ID_LENGTH)), trusted, loaded);
  }

  /** True when records of the parent's run exist (lookups can find something). */
  get usable(): boolean {
    return this.trusted !== undefined;
  }

  /** The parent run's records of these directories (undefined where none can be trusted). */
  async lookup(paths: readonly Uint8Array[]): Promise<(DirRecord | undefined)[]> {
    if (!this.trusted || paths.length === 0) return paths.map(() => undefined);
    const loaded = this.loaded;
    const values = loaded
      ? paths.map((p) => loaded.get(hashKey(pathKey(p))))
      : await this.cache.getNotes(paths.map(pathKey));
    return values.map((v) => {
      if (v?.length !== RECORD_LENGTH || !bytesEqual(v.subarray(0, RUN_ID_LENGTH), this.trusted!)) return undefined;
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

  /** Records a directory this run walked completely, with the tree id it got. */
  record(path: Uint8Array, digest: Uint8Array, treeId: string): void {
    const value = new Uint8Array(RECORD_LENGTH);
    value.set(this.run, 0);
    value.set(digest, RUN_ID_LENGTH);
    value.set(fromHex(treeId, 'tree id'), RUN_ID_LENGTH + DIGEST_LENGTH);
    this.queue({ key: pathKey(path), value });
  }

  /** Deletes a directory's record (it was not walked completely: the next run walks it normally). */
  forget(path: Uint8Array): void {
    this.queue({ key: pathKey(path), value: undefined });
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
    await this.cache
      .writeNotes([{ key: noteKey(RUN_NOTE, fromHex(snapshotId, 'snapshot id')), value: this.run }])
      .catch(() => {});
  }

  /** Waits for writes under way (before the cache is closed), without trusting this run. */
  async settle(): Promise<void> {
    this.queued = [];
    await this.writing;
  }
}
