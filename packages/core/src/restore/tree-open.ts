/**
 * Opening tree blobs on a writer thread: a restore's first phase loads every tree (5 519 on the
 * benchmark data set) while its writer threads have nothing to write yet, so the CPU-bound half of
 * loading a tree (authenticate, decrypt, decompress, re-check the id) is handed to them in jobs of
 * a few hundred kilobytes; the main thread only decodes the returned bytes. A pure function of the
 * bytes, like verify's pack checks.
 */
import type { Compression } from '../compress/index.js';
import { type BlobKeys, type BlobType, MAX_BLOB_RAW_LENGTH, openBlobTransient } from '../format/blob.js';

/** One blob of a job: where it sits in the job's buffer, and what its header says. */
export interface OpenTreeBlob {
  off: number;
  len: number;
  id: Uint8Array;
  type: BlobType;
  compression: Compression;
  rawLength: number;
}

export interface OpenTreesJob {
  kind: 'open-trees';
  n: number;
  /** Sealed blobs (transferred to the worker). */
  buf: Uint8Array;
  blobs: OpenTreeBlob[];
}

export interface OpenTreesResult {
  n: number;
  /** The opened blobs' raw bytes, one after another (transferred back). */
  raw: Uint8Array;
  /** End of each blob's bytes in `raw`, or -1 for a blob that did not open (read alone later). */
  ends: Int32Array;
}

export function isOpenTreesJob(job: unknown): job is OpenTreesJob {
  return (job as OpenTreesJob).kind === 'open-trees';
}

export function runOpenTrees(keys: BlobKeys, job: OpenTreesJob): OpenTreesResult {
  // A raw length beyond the blob limit fails that blob (openBlob refuses it) and allocates nothing.
  const fits = (b: OpenTreeBlob) => b.rawLength <= MAX_BLOB_RAW_LENGTH;
  const raw = new Uint8Array(job.blobs.reduce((n, b) => n + (fits(b) ? b.rawLength : 0), 0));
  const ends = new Int32Array(job.blobs.length);
  let at = 0;
  job.blobs.forEach((b, i) => {
    try {
      if (!fits(b)) throw new RangeError('raw length beyond the blob limit');
      const bytes = openBlobTransient(keys, b, job.buf.subarray(b.off, b.off + b.len));
      raw.set(bytes, at); // copied before the next blob reuses the LZ4 codec's memory
      at += bytes.length;
      ends[i] = at;
    } catch {
      ends[i] = -1; // the main thread reads it alone, which reports the precise error
    }
  });
  return { n: job.n, raw, ends };
}
