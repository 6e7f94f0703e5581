/**
 * The write side of a restore, one job at a time: a job is one byte range read from a pack plus
 * the list of places (file, offset) each blob in it goes. For every blob it authenticates,
 * decrypts, decompresses and re-checks the id (openBlob), then writes the bytes at each position;
 * files are written under a temporary name beside the final one and renamed into place only when
 * complete, with size, owner, mode and times already set through the open descriptor, so an
 * interrupted restore never leaves a truncated file under its real name. Zeros are not written
 * where they fill a whole block of the file (sparse files stay sparse, down to the block around
 * each byte of data).
 *
 * Everything here is synchronous and self-contained (plain data in, plain data out) so that it runs
 * on a worker thread (restore-worker.ts) with one system call per step and no round trips through
 * the event loop, or inline on the calling thread when workers are not used.
 *
 * Paths come from restore.ts, built only from validated names under directories it checked or
 * created; files are opened with O_NOFOLLOW, and a rename replaces a symlink rather than following
 * it, so nothing is written outside the target.
 */
import * as fs from 'node:fs';
import type { Compression } from '../compress/index.js';
import { type BlobKeys, type BlobType, openBlobTransient } from '../format/blob.js';
import { toHex } from '../format/bytes.js';
import { blake3 } from '../hashing/index.js';

/** One file a job touches. */
export interface WireFile {
  /** The caller's id for the file. */
  i: number;
  /** Final path (bytes). */
  path: Uint8Array;
  size: number;
  /** Permission bits (st_mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Set the owner (running as root). */
  chown: boolean;
  /** Modification (and access) time, seconds since the epoch. */
  mtime: number;
  /** Create the temporary file, truncating anything there, before writing to it. */
  create: boolean;
  /** When this job's parts are written: set size and metadata, close, rename into place. */
  finish: boolean;
  /** Variant of the temporary name (see tempVariant; 0 nearly always). */
  temp: number;
}

/** One blob of a job's range and where its bytes go. */
export interface WireBlob {
  /** Position of the sealed blob in the job's buffer. */
  off: number;
  len: number;
  type: BlobType;
  id: Uint8Array;
  compression: Compression;
  rawLength: number;
  /** Pairs: index into the job's `files`, offset in that file. */
  to: number[];
}

export interface WireJob {
  n: number;
  /** Pack the range comes from (for messages). */
  pack: string;
  buf?: Uint8Array;
  blobs: WireBlob[];
  files: WireFile[];
  overwrite: boolean;
}

/** Outcome for one file of a job: no `code` means its part in this job succeeded. */
export interface WireFileResult {
  i: number;
  code?: string;
  message?: string;
}

export interface WireResult {
  n: number;
  /** Bytes of file content this job accounted for (written or left as a hole). */
  bytes: number;
  files: WireFileResult[];
  /** The restore must stop (the target is full). */
  fatal?: { code: string; message: string };
}

const { O_WRONLY, O_CREAT, O_TRUNC, O_NOFOLLOW } = fs.constants;

/** Temporary names start with this, then the directory's variant (if any) and a dash. */
const TEMP_PREFIX = Buffer.from('.cairn-restore');

/**
 * The temporary name a file is written under, beside its final name: the same for the same name,
 * so a re-run replaces what an interrupted one left. `variant`: see {@link tempVariant}.
 */
export function tempName(path: Uint8Array, variant = 0): Buffer {
  const p = Buffer.from(path.buffer, path.byteOffset, path.byteLength);
  const slash = p.lastIndexOf(0x2f);
  return Buffer.concat([
    p.subarray(0, slash + 1),
    Buffer.from(`${TEMP_PREFIX}${variant || ''}-${toHex(blake3(p.subarray(slash + 1))).slice(0, 16)}`),
  ]);
}

/**
 * The variant of temporary names for a directory holding `names`: 0 (".cairn-restore-…") unless
 * one of them starts like that (say a snapshot of a directory where a restore was interrupted),
 * else the first variant (".cairn-restore1-…", …) none of them starts with. So a file's temporary
 * name is never the name of another file of the same directory, which it would overwrite.
 */
export function tempVariant(names: readonly Uint8Array[]): number {
  const taken = new Set<number>();
  for (const name of names) {
    if (name.length <= TEMP_PREFIX.length || !TEMP_PREFIX.equals(name.subarray(0, TEMP_PREFIX.length))) continue;
    const rest = Buffer.from(name.buffer, name.byteOffset + TEMP_PREFIX.length, name.length - TEMP_PREFIX.length);
    const dash = rest.indexOf(0x2d);
    if (dash === 0) taken.add(0);
    else if (dash > 0 && /^[1-9][0-9]{0,8}$/.test(rest.toString('latin1', 0, dash)))
      taken.add(Number(rest.toString('latin1', 0, dash)));
  }
  let v = 0;
  while (taken.has(v)) v++;
  return v;
}

const ZERO = Buffer.alloc(64 * 1024);
/**
 * Holes are left at this granularity, aligned to file offsets: the usual file-system block. A
 * larger block size only means a hole inside it is allocated anyway.
 */
const HOLE_BLOCK = 4096;

function isZero(b: Uint8Array): boolean {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  for (let off = 0; off < buf.length; off += ZERO.length) {
    const n = Math.min(ZERO.length, buf.length - off);
    if (buf.compare(ZERO, 0, n, off, off + n) !== 0) return false;
  }
  return true;
}

/** One block of zeros. */
const ZERO_BLOCK = ZERO.subarray(0, HOLE_BLOCK);

/** True when the block at `at` (all inside `buf`) is all zeros. */
function zeroBlock(buf: Buffer, at: number): boolean {
  // Most blocks of data start with a non-zero byte: decided without a call.
  return buf[at] === 0 && buf.compare(ZERO_BLOCK, 0, HOLE_BLOCK, at, at + HOLE_BLOCK) === 0;
}

/**
 * Writes a blob that is not all zeros at `position`, leaving out the whole file blocks of zeros
 * it holds; returns true if it left any out (the file then needs its size set at the end). A
 * restored file starts empty, so what is not written reads back as zeros.
 *
 * Every blob is looked at block by block: chunk boundaries depend on the repository's secret
 * seed, not on where the holes are, so a chunk often begins and ends in data with zeros between.
 * ~0.3 ms per 64 MiB of data (one byte read per block; `indexOf` of a zero block took 1.5-5 ms).
 */
function writeSparse(fd: number, raw: Uint8Array, position: number): boolean {
  const buf = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  const last = buf.length - HOLE_BLOCK; // start of the last block that fits
  let from = 0; // start of the data not yet written
  let hole = false;
  // From the first whole file block in the blob.
  for (let at = (HOLE_BLOCK - (position % HOLE_BLOCK)) % HOLE_BLOCK; at <= last; at += HOLE_BLOCK) {
    if (!zeroBlock(buf, at)) continue;
    let end = at + HOLE_BLOCK;
    while (end <= last && zeroBlock(buf, end)) end += HOLE_BLOCK;
    if (at > from) writeAll(fd, buf.subarray(from, at), position + from);
    from = end;
    at = end - HOLE_BLOCK;
    hole = true;
  }
  if (from < buf.length) writeAll(fd, buf.subarray(from), position + from);
  return hole;
}

class Fatal extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function describe(err: unknown, pack: string): { code: string; message: string } {
  const e = err as { code?: string; message?: string; name?: string };
  if (e?.name === 'CairnError' && e.code) return { code: e.code, message: e.message ?? String(err) };
  return { code: 'IO_ERROR', message: `${e?.message ?? String(err)} (pack ${pack})` };
}

function isNoSpace(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

interface FileState {
  f: WireFile;
  path: Buffer;
  temp: Buffer;
  fd?: number;
  /** Parts of this file still to write in this job. */
  left: number;
  hole: boolean;
  error?: { code: string; message: string };
  done: boolean;
}

function openFile(s: FileState): number {
  s.fd ??= fs.openSync(s.temp, O_WRONLY | O_NOFOLLOW | (s.f.create ? O_CREAT | O_TRUNC : 0), 0o600);
  return s.fd;
}

function writeAll(fd: number, data: Uint8Array, position: number): void {
  let done = 0;
  while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done, position + done);
}

function finishFile(s: FileState, overwrite: boolean): void {
  const fd = openFile(s);
  const f = s.f;
  // A hole at the end (blobs of zeros are not written), or a file pre-created elsewhere.
  if (s.hole || !f.create) fs.ftruncateSync(fd, f.size);
  if (f.chown) fs.fchownSync(fd, f.uid, f.gid); // before chmod: chown clears set-id bits
  fs.fchmodSync(fd, f.mode);
  fs.futimesSync(fd, f.mtime, f.mtime);
  s.fd = undefined;
  fs.closeSync(fd);
  try {
    fs.renameSync(s.temp, s.path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // A directory occupies the final name (a file replaced a directory since the snapshot).
    if (!overwrite || (code !== 'EISDIR' && code !== 'ENOTEMPTY' && code !== 'EEXIST')) throw err;
    fs.rmSync(s.path, { recursive: true, force: true });
    fs.renameSync(s.temp, s.path);
  }
  s.done = true;
}

function closeQuietly(s: FileState): void {
  if (s.fd === undefined) return;
  try {
    fs.closeSync(s.fd);
  } catch {}
  s.fd = undefined;
}

/** Runs one job to the end; never throws (problems are in the result). */
export function runJob(keys: BlobKeys, job: WireJob): WireResult {
  const states: FileState[] = job.files.map((f) => {
    const path = Buffer.from(f.path.buffer, f.path.byteOffset, f.path.byteLength);
    // Every field from the start: adding fd or error later changes the object's shape.
    return {
      f,
      path,
      temp: tempName(path, f.temp),
      fd: undefined,
      left: 0,
      hole: false,
      error: undefined,
      done: false,
    };
  });
  for (const b of job.blobs) for (let k = 0; k < b.to.length; k += 2) states[b.to[k]!]!.left++;
  let bytes = 0;
  let fatal: { code: string; message: string } | undefined;
  const fail = (s: FileState, err: unknown) => {
    if (isNoSpace(err)) throw new Fatal('NO_SPACE', 'no space left on the restore target');
    s.error ??= describe(err, job.pack);
  };
  try {
    for (const b of job.blobs) {
      let raw: Uint8Array | undefined;
      let zero = false;
      try {
        raw = openBlobTransient(keys, b, job.buf!.subarray(b.off, b.off + b.len)); // written before the next
        zero = isZero(raw);
      } catch (err) {
        for (let k = 0; k < b.to.length; k += 2) states[b.to[k]!]!.error ??= describe(err, job.pack);
      }
      for (let k = 0; k < b.to.length; k += 2) {
        const s = states[b.to[k]!]!;
        if (s.error || !raw) continue;
        try {
          const fd = openFile(s);
          if (zero || writeSparse(fd, raw, b.to[k + 1]!)) s.hole = true;
          bytes += raw.length;
          if (--s.left === 0 && s.f.finish) finishFile(s, job.overwrite);
        } catch (err) {
          fail(s, err);
        }
      }
    }
    // Files with nothing to write in this job (empty files, or the final step of a file whose
    // parts came in other jobs).
    for (const s of states) {
      if (s.error || s.done || !s.f.finish || s.left > 0) continue;
      try {
        finishFile(s, job.overwrite);
      } catch (err) {
        fail(s, err);
      }
    }
  } catch (err) {
    fatal = err instanceof Fatal ? { code: err.code, message: err.message } : describe(err, job.pack);
  }
  const files: WireFileResult[] = [];
  for (const s of states) {
    closeQuietly(s);
    const failed = s.error ?? (fatal && !s.done ? fatal : undefined);
    if (failed && s.f.create && s.f.finish) {
      try {
        fs.unlinkSync(s.temp); // this job owned the file: no half-written temporary left behind
      } catch {}
    }
    files.push(failed ? { i: s.f.i, code: failed.code, message: failed.message } : { i: s.f.i });
  }
  return fatal ? { n: job.n, bytes, files, fatal } : { n: job.n, bytes, files };
}
