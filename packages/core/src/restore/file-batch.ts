/**
 * Restores the contents of a batch of files: looks up every blob, plans reads per pack sorted by
 * offset (merging nearby blobs into one range read), reads several packs at once, authenticates and
 * re-hashes every blob, and writes it at each position that needs it. Files are written under a
 * temporary name beside the final one and renamed into place only when complete, with metadata set;
 * so an interrupted restore never leaves a truncated file under its real name. Blobs of zeros are
 * not written, which keeps sparse files sparse.
 *
 * A file whose final name already holds exactly the snapshot's content (an earlier, interrupted run)
 * is verified and skipped.
 */
import { constants } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { CairnError, throwIfAborted } from '../errors.js';
import { blobId, openBlob } from '../format/blob.js';
import { bytesEqual, toHex } from '../format/bytes.js';
import type { TreeNode } from '../format/tree.js';
import { applyFileMetadata } from '../fsmeta/apply-metadata.js';
import { blake3 } from '../hashing/index.js';
import type { BlobLocation } from '../index/blob-location.js';
import { packName } from '../repo/names.js';
import type { Repository } from '../repo/repository.js';
import { occupant } from './target-dir.js';

/** One file to restore. */
export interface FileJob {
  node: TreeNode;
  /** Final path (bytes). */
  path: Buffer;
  /** Display path inside the snapshot. */
  display: string;
  ids: string[];
}

/** Outcome of one file. */
export interface FileOutcome {
  job: FileJob;
  status: 'restored' | 'skipped' | 'failed';
  bytes: number;
  error?: CairnError;
}

interface Target {
  file: FileState;
  offset: number;
}

interface FileState {
  job: FileJob;
  temp: Buffer;
  size: number;
  remaining: number;
  handle?: fsp.FileHandle;
  opening?: Promise<fsp.FileHandle>;
  error?: CairnError;
  written: number;
}

/** Largest gap between two needed blobs that is read through rather than split into two reads. */
const MERGE_GAP = 1024 * 1024;
/** Largest single range read. */
const MAX_RANGE = 64 * 1024 * 1024;

function tempName(path: Buffer): Buffer {
  const slash = path.lastIndexOf(0x2f);
  const name = path.subarray(slash + 1);
  return Buffer.concat([
    path.subarray(0, slash + 1),
    Buffer.from(`.cairn-restore-${toHex(blake3(name)).slice(0, 16)}`),
  ]);
}

function isZero(b: Uint8Array): boolean {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  for (let off = 0; off < buf.length; off += ZERO.length) {
    const part = buf.subarray(off, Math.min(buf.length, off + ZERO.length));
    if (!part.equals(ZERO.subarray(0, part.length))) return false;
  }
  return true;
}
const ZERO = Buffer.alloc(64 * 1024);

export class FileBatchRestorer {
  constructor(
    private readonly repo: Repository,
    private readonly options: {
      overwrite: boolean;
      concurrency: number;
      signal?: AbortSignal;
      onBytes: (n: number) => void;
    },
  ) {}

  /** Restores a batch; never throws for file-level problems (they are in the outcomes). */
  async restore(jobs: FileJob[]): Promise<FileOutcome[]> {
    const index = await this.repo.index(this.options.signal);
    const unique = [...new Set(jobs.flatMap((j) => j.ids))];
    const found = await index.lookup(unique.map((h) => Buffer.from(h, 'hex')));
    const where = new Map<string, BlobLocation>();
    unique.forEach((id, i) => {
      const loc = found[i];
      if (loc) where.set(id, loc);
    });

    const outcomes: FileOutcome[] = [];
    const byPack = new Map<string, Map<string, { loc: BlobLocation; targets: Target[] }>>();
    const states: FileState[] = [];
    for (const job of jobs) {
      const missing = job.ids.find((id) => !where.has(id));
      if (missing) {
        outcomes.push(failed(job, new CairnError('NOT_FOUND', `blob ${missing} is missing from the repository`)));
        continue;
      }
      const locs = job.ids.map((id) => where.get(id)!);
      const size = locs.reduce((n, l) => n + l.rawLength, 0);
      if (await this.alreadyComplete(job, locs, size)) {
        outcomes.push({ job, status: 'skipped', bytes: size });
        this.options.onBytes(size);
        continue;
      }
      const existing = await occupant(job.path);
      if (existing && !this.options.overwrite) {
        outcomes.push(
          failed(
            job,
            new CairnError('RESTORE_CONFLICT', `${job.path.toString()} exists with other content (use --overwrite)`),
          ),
        );
        continue;
      }
      const state: FileState = { job, temp: tempName(job.path), size, remaining: locs.length, written: 0 };
      states.push(state);
      let offset = 0;
      for (const loc of locs) {
        let pack = byPack.get(loc.packId);
        if (!pack) {
          pack = new Map();
          byPack.set(loc.packId, pack);
        }
        const key = toHex(loc.id);
        let entry = pack.get(key);
        if (!entry) {
          entry = { loc, targets: [] };
          pack.set(key, entry);
        }
        entry.targets.push({ file: state, offset });
        offset += loc.rawLength;
      }
    }

    // Files without content (empty) are complete at once.
    for (const s of states) if (s.remaining === 0) await this.finish(s);

    const packs = [...byPack.entries()];
    let next = 0;
    const worker = async () => {
      while (next < packs.length) {
        const [packId, blobs] = packs[next++]!;
        throwIfAborted(this.options.signal);
        await this.restorePack(packId, [...blobs.values()]);
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(this.options.concurrency, packs.length) }, worker));
    } finally {
      for (const s of states) {
        if (s.remaining > 0 || s.error) await this.abandon(s);
      }
    }
    for (const s of states) {
      if (s.error) outcomes.push({ job: s.job, status: 'failed', bytes: 0, error: s.error });
      else outcomes.push({ job: s.job, status: 'restored', bytes: s.size });
    }
    return outcomes;
  }

  /** True when the final path already holds exactly the snapshot's content (verified by hashing). */
  private async alreadyComplete(job: FileJob, locs: BlobLocation[], size: number): Promise<boolean> {
    const st = await occupant(job.path);
    if (!st?.isFile() || Number(st.size) !== size) return false;
    const handle = await fsp.open(job.path, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      let pos = 0;
      for (const loc of locs) {
        const buf = new Uint8Array(loc.rawLength);
        const { bytesRead } = await handle.read(buf, 0, buf.length, pos);
        if (bytesRead !== buf.length || !bytesEqual(blobId(this.repo.keys.idKey, buf), loc.id)) return false;
        pos += loc.rawLength;
      }
      await applyFileMetadata(handle, job.node);
      return true;
    } finally {
      await handle.close();
    }
  }

  private async restorePack(packId: string, blobs: { loc: BlobLocation; targets: Target[] }[]): Promise<void> {
    blobs.sort((a, b) => a.loc.offset - b.loc.offset);
    let i = 0;
    while (i < blobs.length) {
      // Merge neighbouring blobs into one range read.
      let j = i + 1;
      const start = blobs[i]!.loc.offset;
      let end = start + blobs[i]!.loc.length;
      while (
        j < blobs.length &&
        blobs[j]!.loc.offset - end <= MERGE_GAP &&
        blobs[j]!.loc.offset + blobs[j]!.loc.length - start <= MAX_RANGE
      ) {
        end = Math.max(end, blobs[j]!.loc.offset + blobs[j]!.loc.length);
        j++;
      }
      const group = blobs.slice(i, j);
      i = j;
      let range: Uint8Array;
      try {
        range = await this.repo.store.get(packName(packId), {
          offset: start,
          length: end - start,
          signal: this.options.signal,
        });
        if (range.length !== end - start)
          throw new CairnError('CORRUPT_DATA', `pack ${packId} is shorter than the index says`);
      } catch (err) {
        if ((err as CairnError).code === 'ABORTED') throw err;
        for (const b of group) this.failTargets(b.targets, asCairn(err, packId));
        continue;
      }
      for (const b of group) {
        const live = b.targets.filter((t) => !t.file.error);
        if (live.length === 0) continue;
        let raw: Uint8Array;
        try {
          const sealed = range.subarray(b.loc.offset - start, b.loc.offset - start + b.loc.length);
          raw = openBlob(this.repo.keys, b.loc, sealed);
        } catch (err) {
          this.failTargets(live, asCairn(err, packId));
          continue;
        }
        const zero = isZero(raw);
        for (const t of live) {
          try {
            const handle = await this.open(t.file);
            if (!zero) await writeAll(handle, raw, t.offset);
            t.file.written += raw.length;
            this.options.onBytes(raw.length);
            if (--t.file.remaining === 0) await this.finish(t.file);
          } catch (err) {
            const e = asCairn(err, packId);
            if (e.code === 'NO_SPACE') throw e; // the target is full: stop, nothing else can succeed
            t.file.error ??= e;
          }
        }
      }
    }
  }

  private failTargets(targets: Target[], err: CairnError): void {
    for (const t of targets) t.file.error ??= err;
  }

  private open(s: FileState): Promise<fsp.FileHandle> {
    if (s.handle) return Promise.resolve(s.handle);
    s.opening ??= fsp
      .open(s.temp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o600)
      .then((h) => {
        s.handle = h;
        return h;
      });
    return s.opening;
  }

  /** Sets size and metadata, closes, and moves the temporary file to its final name. */
  private async finish(s: FileState): Promise<void> {
    const handle = await this.open(s);
    await handle.truncate(s.size);
    await applyFileMetadata(handle, s.job.node);
    await handle.close();
    s.handle = undefined;
    const existing = await occupant(s.job.path);
    if (existing?.isDirectory()) await fsp.rm(s.job.path, { recursive: true, force: true });
    await fsp.rename(s.temp, s.job.path);
  }

  private async abandon(s: FileState): Promise<void> {
    await s.handle?.close().catch(() => {});
    s.handle = undefined;
    await fsp.unlink(s.temp).catch(() => {});
  }
}

async function writeAll(handle: fsp.FileHandle, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}

function failed(job: FileJob, error: CairnError): FileOutcome {
  return { job, status: 'failed', bytes: 0, error };
}

function asCairn(err: unknown, packId: string): CairnError {
  if (err instanceof CairnError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOSPC') return new CairnError('NO_SPACE', 'no space left on the restore target', { cause: err });
  return new CairnError('IO_ERROR', `${e?.message ?? String(err)} (pack ${packId})`, { cause: err });
}
