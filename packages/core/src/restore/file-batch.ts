/**
 * Restores the contents of files, fed in batches while the snapshot is walked: looks up every
 * blob, plans reads per pack sorted by offset (merging nearby blobs into one range read), reads
 * several ranges at once (bounded in bytes), and hands each range with the places its blobs go to
 * the writers (writer.ts, on worker threads), which authenticate and re-hash every blob and write
 * it at each position that needs it. Batches overlap: the walk goes on while earlier batches are
 * written, up to a bound on queued work.
 *
 * Files are written under a temporary name beside the final one and renamed into place only when
 * complete, with metadata set; so an interrupted restore never leaves a truncated file under its
 * real name. A file whose blobs all come in one range is created, written and finished by the job
 * of that range; a file spread over several ranges is created (truncated) here first, written by
 * each range's job, and finished by a last job once every part is in. Blobs of zeros are not
 * written, which keeps sparse files sparse.
 *
 * Unless the target was empty when the restore started, a file whose final name already holds
 * exactly the snapshot's content (an earlier, interrupted run) is verified and skipped, and any
 * other occupant is a conflict unless overwriting.
 */
import { type BigIntStats, closeSync, constants, openSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { CairnError, type ErrorCode } from '../errors.js';
import { blobId } from '../format/blob.js';
import { bytesEqual } from '../format/bytes.js';
import type { TreeNode } from '../format/tree.js';
import { applyFileMetadata, nsToSeconds, ownerFor } from '../fsmeta/apply-metadata.js';
import type { BlobLocation } from '../index/blob-location.js';
import { packName } from '../repo/names.js';
import type { Repository } from '../repo/repository.js';
import { occupant } from './target-dir.js';
import { tempName, type WireBlob, type WireFile, type WireJob, type WireResult } from './writer.js';
import type { WriterPool } from './writer-pool.js';

/** One file to restore. */
export interface FileJob {
  node: TreeNode;
  /** Final path (bytes). */
  path: Buffer;
  /** Display path inside the snapshot. */
  display: string;
  ids: string[];
  /** Variant of the file's temporary name (see tempVariant in writer.ts); 0 when absent. */
  temp?: number;
}

/** Outcome of one file. */
export interface FileOutcome {
  job: FileJob;
  status: 'restored' | 'skipped' | 'failed';
  bytes: number;
  error?: CairnError;
}

interface FileState {
  id: number;
  job: FileJob;
  size: number;
  /** Spread over several ranges: created here, finished by a job of its own. */
  multi: boolean;
  /** Jobs still to report on this file. */
  parts: number;
  finishing: boolean;
  error?: CairnError;
}

interface Target {
  file: FileState;
  offset: number;
}

interface Work {
  packId?: string;
  start: number;
  end: number;
  blobs: PlannedBlob[];
  /** Files to create or finish without reading anything. */
  files?: FileState[];
}

/** Largest gap between two needed blobs that is read through rather than split into two reads. */
const MERGE_GAP = 1024 * 1024;
/** Largest single range read (one blob larger than this is read alone). */
const MAX_RANGE = 4 * 1024 * 1024;
/**
 * Places written by one job at most: a range of many small files is split, so that jobs stay
 * short (a file costs more than its bytes) and spread evenly over the writers.
 */
const MAX_TARGETS = 128;
/** Bytes read or being written at once (bounds memory). */
const IN_FLIGHT_BYTES = 16 * 1024 * 1024;
/** Planned bytes waiting to be read beyond which `add` waits. */
const QUEUED_BYTES = 64 * 1024 * 1024;
const QUEUED_WORK = 64;
/** Files checked at once against what a non-empty target already holds. */
const PRECHECKS = 8;
/** Weight of one file in a job, for balancing jobs between writers. */
const FILE_WEIGHT = 16 * 1024;

const isRoot = () => process.getuid?.() === 0;

/** A blob to read: its location and every place it is written. */
interface PlannedBlob {
  loc: BlobLocation;
  targets: Target[];
}

/** Adds a file's blobs (in order, at their offsets in the file) to the per-pack plan. */
function placeBlobs(byPack: Map<string, Map<string, PlannedBlob>>, state: FileState, locs: BlobLocation[]): void {
  let offset = 0;
  for (const loc of locs) {
    let pack = byPack.get(loc.packId);
    if (!pack) {
      pack = new Map();
      byPack.set(loc.packId, pack);
    }
    const key = Buffer.from(loc.id).toString('hex');
    let entry = pack.get(key);
    if (!entry) {
      entry = { loc, targets: [] };
      pack.set(key, entry);
    }
    entry.targets.push({ file: state, offset });
    offset += loc.rawLength;
  }
}

/**
 * Range reads per pack, sorted by offset: nearby blobs (gaps up to {@link MERGE_GAP}) share a read
 * of at most {@link MAX_RANGE} bytes and {@link MAX_TARGETS} places.
 */
function rangesOf(byPack: Map<string, Map<string, PlannedBlob>>): Work[] {
  const work: Work[] = [];
  for (const [packId, blobs] of byPack) {
    const sorted = [...blobs.values()].sort((a, b) => a.loc.offset - b.loc.offset);
    let cur: Work | undefined;
    let targets = 0;
    for (const b of sorted) {
      const end = b.loc.offset + b.loc.length;
      if (
        cur &&
        b.loc.offset - cur.end <= MERGE_GAP &&
        end - cur.start <= MAX_RANGE &&
        targets + b.targets.length <= MAX_TARGETS
      ) {
        cur.end = Math.max(cur.end, end);
        cur.blobs.push(b);
        targets += b.targets.length;
      } else {
        cur = { packId, start: b.loc.offset, end, blobs: [b] };
        targets = b.targets.length;
        work.push(cur);
      }
    }
  }
  return work;
}

export class FileBatchRestorer {
  private readonly queue: Work[] = [];
  private queuedBytes = 0;
  private reading = 0;
  private inFlight = 0;
  private running = 0;
  private finishing = 0;
  private fatal: CairnError | undefined;
  private nextId = 0;
  private nextJob = 0;
  private readonly multi = new Map<number, FileState>();
  private waiters: (() => void)[] = [];
  private readonly chown = isRoot();

  constructor(
    private readonly repo: Repository,
    private readonly pool: WriterPool,
    private readonly options: {
      overwrite: boolean;
      /** The target was empty at the start: no occupant can be there but our own entries. */
      fresh: boolean;
      /** Range reads at once. */
      concurrency: number;
      signal?: AbortSignal;
      onBytes: (n: number) => void;
      onOutcome: (o: FileOutcome) => void;
    },
  ) {}

  /**
   * Plans a batch and queues its reads; resolves once the queue has room for more. Per-file
   * problems become outcomes; throws only when the restore must stop (NO_SPACE, ABORTED).
   * (Split into small steps: V8 optimizes small functions much faster than one large one.)
   */
  async add(jobs: FileJob[]): Promise<void> {
    this.check();
    const where = await this.locate(jobs);
    const verdict = this.options.fresh ? undefined : await this.precheck(jobs, where);
    const { states, empty, byPack } = this.plan(jobs, where, verdict);
    const work = rangesOf(byPack);
    this.createSpread(states, work);
    if (empty.length > 0) work.push({ start: 0, end: 0, blobs: [], files: empty });
    for (const s of empty) s.parts = 1;
    for (const w of work) {
      this.queue.push(w);
      this.queuedBytes += w.end - w.start;
    }
    this.pump();
    while (!this.fatal && (this.queuedBytes > QUEUED_BYTES || this.queue.length > QUEUED_WORK)) await this.changed();
    this.check();
  }

  /** Where each blob of the batch is (one index call); ids the index lacks are absent. */
  private async locate(jobs: FileJob[]): Promise<Map<string, BlobLocation>> {
    const index = await this.repo.index(this.options.signal);
    const unique = [...new Set(jobs.flatMap((j) => j.ids))];
    const found = await index.lookup(unique.map((h) => Buffer.from(h, 'hex')));
    const where = new Map<string, BlobLocation>();
    unique.forEach((id, i) => {
      const loc = found[i];
      if (loc) where.set(id, loc);
    });
    return where;
  }

  /**
   * Unless the target was empty, what is already there decides: complete files (an earlier run)
   * are verified and skipped, anything else is a conflict unless overwriting. Checked a few files
   * at a time.
   */
  private async precheck(
    jobs: FileJob[],
    where: Map<string, BlobLocation>,
  ): Promise<Map<FileJob, 'write' | 'skip' | CairnError>> {
    const verdict = new Map<FileJob, 'write' | 'skip' | CairnError>();
    const pending = jobs.filter((j) => j.ids.every((id) => where.has(id)));
    for (let i = 0; i < pending.length; i += PRECHECKS) {
      await Promise.all(
        pending.slice(i, i + PRECHECKS).map(async (job) => {
          const locs = job.ids.map((id) => where.get(id)!);
          const size = locs.reduce((n, l) => n + l.rawLength, 0);
          try {
            if (await this.alreadyComplete(job, locs, size)) verdict.set(job, 'skip');
            else if ((await occupant(job.path)) && !this.options.overwrite) {
              verdict.set(
                job,
                new CairnError(
                  'RESTORE_CONFLICT',
                  `${job.path.toString()} exists with other content (use --overwrite)`,
                ),
              );
            }
          } catch (err) {
            verdict.set(job, asCairn(err));
          }
        }),
      );
    }
    return verdict;
  }

  /**
   * Reports the files that cannot or need not be written, and places every blob of the others
   * by pack: blob id (hex) → location and the places it goes.
   */
  private plan(
    jobs: FileJob[],
    where: Map<string, BlobLocation>,
    verdict: Map<FileJob, 'write' | 'skip' | CairnError> | undefined,
  ): { states: FileState[]; empty: FileState[]; byPack: Map<string, Map<string, PlannedBlob>> } {
    const byPack = new Map<string, Map<string, PlannedBlob>>();
    const empty: FileState[] = [];
    const states: FileState[] = [];
    for (const job of jobs) {
      const missing = job.ids.find((id) => !where.has(id));
      if (missing) {
        this.options.onOutcome(
          failed(job, new CairnError('NOT_FOUND', `blob ${missing} is missing from the repository`)),
        );
        continue;
      }
      const locs = job.ids.map((id) => where.get(id)!);
      const size = locs.reduce((n, l) => n + l.rawLength, 0);
      const v = verdict?.get(job);
      if (v === 'skip') {
        this.options.onBytes(size);
        this.options.onOutcome({ job, status: 'skipped', bytes: size });
        continue;
      }
      if (v instanceof CairnError) {
        this.options.onOutcome(failed(job, v));
        continue;
      }
      const state: FileState = { id: this.nextId++, job, size, multi: false, parts: 0, finishing: false };
      states.push(state);
      if (locs.length === 0) empty.push(state);
      else placeBlobs(byPack, state, locs);
    }
    return { states, empty, byPack };
  }

  /**
   * Counts the jobs each file appears in; files in several are created here, truncated (each job
   * then writes its part, and a last one finishes the file).
   */
  private createSpread(states: FileState[], work: Work[]): void {
    const lastWork = new Map<FileState, Work>();
    for (const w of work) {
      for (const b of w.blobs) {
        for (const t of b.targets) {
          if (lastWork.get(t.file) !== w) {
            lastWork.set(t.file, w);
            t.file.parts++;
          }
        }
      }
    }
    for (const s of states) {
      if (s.parts <= 1) continue;
      s.multi = true;
      this.multi.set(s.id, s);
      try {
        const fd = openSync(
          tempName(s.job.path, s.job.temp),
          constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW,
          0o600,
        );
        closeSync(fd);
      } catch (err) {
        const e = asCairn(err);
        if (e.code === 'NO_SPACE') throw this.stop(e);
        s.error = e;
      }
    }
  }

  /** Waits until every queued file is done; throws if the restore had to stop. */
  async finish(): Promise<void> {
    while (this.queue.length > 0 || this.reading > 0 || this.running > 0 || this.finishing > 0) {
      if (this.fatal && this.reading === 0 && this.running === 0 && this.finishing === 0) break;
      await this.changed();
    }
    if (this.fatal) {
      this.queue.length = 0;
      // Files spread over several jobs that did not complete: remove their temporaries.
      await Promise.all(
        [...this.multi.values()].map((s) => fsp.unlink(tempName(s.job.path, s.job.temp)).catch(() => {})),
      );
      this.multi.clear();
      throw this.fatal;
    }
  }

  /** Stops after an error elsewhere: waits for what is running, removes temporaries. */
  async cancel(err: CairnError): Promise<void> {
    this.stop(err);
    await this.finish().catch(() => {});
  }

  private check(): void {
    if (!this.fatal && this.options.signal?.aborted) this.stop(new CairnError('ABORTED', 'operation was cancelled'));
    if (this.fatal) throw this.fatal;
  }

  private stop(err: CairnError): CairnError {
    this.fatal ??= err;
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.notify();
    return this.fatal;
  }

  private changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private pump(): void {
    if (!this.fatal && this.options.signal?.aborted) this.stop(new CairnError('ABORTED', 'operation was cancelled'));
    while (!this.fatal && this.queue.length > 0) {
      const w = this.queue[0]!;
      const size = w.end - w.start;
      if (w.packId !== undefined) {
        if (this.reading >= this.options.concurrency) return;
        if (this.inFlight > 0 && this.inFlight + size > IN_FLIGHT_BYTES) return;
      }
      this.queue.shift();
      this.queuedBytes -= size;
      this.inFlight += size;
      this.start(w, size);
    }
  }

  private start(w: Work, size: number): void {
    if (w.packId === undefined) {
      this.dispatch(w, undefined, size);
      return;
    }
    this.reading++;
    this.repo.store
      .get(packName(w.packId), {
        offset: w.start,
        length: size,
        ...(this.options.signal ? { signal: this.options.signal } : {}),
      })
      .then(
        (buf) => {
          this.reading--;
          if (buf.length !== size) {
            throw new CairnError('CORRUPT_DATA', `pack ${w.packId} is shorter than the index says`);
          }
          this.dispatch(w, buf, size);
        },
        (err) => {
          this.reading--;
          throw err;
        },
      )
      .catch((err) => {
        this.inFlight -= size;
        const e = asCairn(err, w.packId);
        if (e.code === 'ABORTED' || e.code === 'NO_SPACE') this.stop(e);
        else this.settle(w, { n: -1, bytes: 0, files: [] }, e);
        this.pump();
        this.notify();
      });
  }

  /** Sends one job to a writer. */
  private dispatch(w: Work, buf: Uint8Array | undefined, size: number): void {
    const files: WireFile[] = [];
    const slot = new Map<FileState, number>();
    const wire = (s: FileState, finishOnly: boolean): number => {
      let k = slot.get(s);
      if (k === undefined) {
        k = files.length;
        slot.set(s, k);
        const node = s.job.node;
        const { uid, gid } = this.chown ? ownerFor(node) : { uid: 0, gid: 0 };
        files.push({
          i: s.id,
          path: new Uint8Array(s.job.path), // a copy: pooled Buffers would be cloned whole
          size: s.size,
          mode: node.mode & 0o7777,
          uid,
          gid,
          chown: this.chown,
          mtime: nsToSeconds(node.mtimeNs),
          create: !s.multi,
          finish: !s.multi || finishOnly,
          temp: s.job.temp ?? 0,
        });
      }
      return k;
    };
    const blobs: WireBlob[] = [];
    for (const b of w.blobs) {
      const to: number[] = [];
      for (const t of b.targets) {
        if (t.file.error) continue;
        to.push(wire(t.file, false), t.offset);
      }
      if (to.length === 0) continue;
      const { loc } = b;
      blobs.push({
        off: loc.offset - w.start,
        len: loc.length,
        type: loc.type,
        id: new Uint8Array(loc.id),
        compression: loc.compression,
        rawLength: loc.rawLength,
        to,
      });
    }
    for (const s of w.files ?? []) if (!s.error) wire(s, true);
    const job: WireJob = {
      n: this.nextJob++,
      pack: w.packId ?? '-',
      buf, // always present (undefined for jobs that read nothing): one object shape for V8
      blobs,
      files,
      overwrite: this.options.overwrite,
    };
    this.running++;
    this.pool.run(job, size + files.length * FILE_WEIGHT).then(
      (r) => {
        this.running--;
        this.inFlight -= size;
        if (r.fatal) this.stop(new CairnError(r.fatal.code as ErrorCode, r.fatal.message));
        this.settle(w, r);
        this.pump();
        this.notify();
      },
      (err) => {
        this.running--;
        this.inFlight -= size;
        this.stop(asCairn(err, w.packId));
        this.notify();
      },
    );
  }

  /** Records a job's results; `err` fails every file of the job (its range could not be read). */
  private settle(w: Work, r: WireResult, err?: CairnError): void {
    this.options.onBytes(r.bytes);
    const reported = new Map<number, { code?: string; message?: string }>();
    for (const f of r.files) reported.set(f.i, f);
    const seen = new Set<FileState>();
    const each = (s: FileState) => {
      if (seen.has(s)) return;
      seen.add(s);
      const f = reported.get(s.id);
      if (f?.code) s.error ??= new CairnError(f.code as ErrorCode, f.message ?? f.code);
      else if (!f) s.error ??= err ?? new CairnError('IO_ERROR', 'file was not written');
      this.partDone(s);
    };
    for (const b of w.blobs) for (const t of b.targets) each(t.file);
    for (const s of w.files ?? []) each(s);
  }

  private partDone(s: FileState): void {
    if (--s.parts > 0) return;
    if (!s.multi || s.finishing) {
      this.multi.delete(s.id);
      this.options.onOutcome(
        s.error
          ? { job: s.job, status: 'failed', bytes: 0, error: s.error }
          : { job: s.job, status: 'restored', bytes: s.size },
      );
      return;
    }
    if (s.error) {
      // Some part failed: drop the temporary file.
      this.multi.delete(s.id);
      this.finishing++;
      fsp
        .unlink(tempName(s.job.path, s.job.temp))
        .catch(() => {})
        .finally(() => {
          this.finishing--;
          this.options.onOutcome({ job: s.job, status: 'failed', bytes: 0, error: s.error! });
          this.notify();
        });
      return;
    }
    s.finishing = true;
    s.parts = 1;
    this.queue.unshift({ start: 0, end: 0, blobs: [], files: [s] });
  }

  /** True when the final path already holds exactly the snapshot's content (verified by hashing). */
  private async alreadyComplete(job: FileJob, locs: BlobLocation[], size: number): Promise<boolean> {
    return fileHolds(this.repo.keys.idKey, job.path, locs, size, (handle) => applyFileMetadata(handle, job.node));
  }
}

/**
 * True when `path` is a regular file of `size` bytes holding exactly the blobs `locs`, in order
 * (read and re-hashed one blob at a time); `then` runs on the open file when it does.
 */
export async function fileHolds(
  idKey: Uint8Array,
  path: Buffer,
  locs: BlobLocation[],
  size: number,
  then?: (handle: fsp.FileHandle) => Promise<void>,
): Promise<boolean> {
  const st = await occupant(path);
  if (!st?.isFile() || Number(st.size) !== size) return false;
  const handle = await openToCheck(path, st);
  if (!handle) return false;
  try {
    let pos = 0;
    for (const loc of locs) {
      const buf = new Uint8Array(loc.rawLength);
      const { bytesRead } = await handle.read(buf, 0, buf.length, pos);
      if (bytesRead !== buf.length || !bytesEqual(blobId(idKey, buf), loc.id)) return false;
      pos += loc.rawLength;
    }
    await then?.(handle);
    return true;
  } finally {
    await handle.close();
  }
}

/**
 * Opens a file in the way for reading its content. A file this user owns but may not read is one
 * an earlier run restored with its mode (000, 200): it is made readable for the moment of opening,
 * then given its mode back, so running the restore again as that user resumes it. One it can read
 * neither way is undefined: its content is unknown (a conflict, not a match).
 */
async function openToCheck(path: Buffer, st: BigIntStats): Promise<fsp.FileHandle | undefined> {
  const open = () => fsp.open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    return await open();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EACCES') throw err;
    if (process.geteuid === undefined || st.uid !== BigInt(process.geteuid())) return undefined;
  }
  const mode = Number(st.mode & 0o7777n);
  await fsp.chmod(path, mode | 0o400);
  try {
    return await open();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EACCES') return undefined;
    throw err;
  } finally {
    await fsp.chmod(path, mode);
  }
}

function failed(job: FileJob, error: CairnError): FileOutcome {
  return { job, status: 'failed', bytes: 0, error };
}

function asCairn(err: unknown, packId?: string): CairnError {
  if (err instanceof CairnError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOSPC' || e?.code === 'EDQUOT') {
    return new CairnError('NO_SPACE', 'no space left on the restore target', { cause: err });
  }
  const where = packId ? ` (pack ${packId})` : '';
  return new CairnError('IO_ERROR', `${e?.message ?? String(err)}${where}`, { cause: err });
}
