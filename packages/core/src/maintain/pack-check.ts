/**
 * The CPU-bound half of `verify --read-data` for one pack: check its bytes against its id (when
 * asked), parse its encrypted header, then authenticate, decrypt, decompress and re-hash every
 * blob it lists (also when the id does not match: each blob is authenticated on its own, so the
 * ones that open are intact and only the others are lost). A pure function of the pack's
 * bytes, so it runs on the restore worker threads (writer-pool.ts) beside the main thread, which
 * reads the next packs. Tree blobs' raw bytes are handed back so the snapshot walk that follows
 * does not read them again.
 */
import { type BlobKeys, openBlobTransient } from '../format/blob.js';
import { toHex } from '../format/bytes.js';
import { parsePackHeader } from '../format/pack-reader.js';
import { blake3 } from '../hashing/index.js';

export interface PackCheckJob {
  kind: 'check-pack';
  n: number;
  /** The whole pack (transferred to the worker). */
  buf: Uint8Array;
  /** Return the raw bytes of tree blobs (trees and content lists), at most this many bytes. */
  keepTreeBytes: number;
  /** When set, the pack's BLAKE3 must equal this (hex) before anything else is checked. */
  packId?: string;
}

export interface PackCheckResult {
  n: number;
  /** The bytes do not hash to `packId`. The blobs are checked all the same: which failed is the damage. */
  idMismatch?: boolean;
  /** The header could not be read: nothing else was checked. */
  headerError?: { code: string; message: string };
  /** `id:offset:length` of every blob the header lists. */
  inHeader: string[];
  /** Blobs that failed to open (with why). */
  blobErrors: { id: string; code: string; message: string }[];
  /** Blobs that opened and matched their ids. */
  blobsRead: number;
  /** Raw bytes of tree blobs that opened (`key` as in `inHeader`), while within `keepTreeBytes`. */
  trees: { key: string; raw: Uint8Array }[];
}

export function isPackCheckJob(job: unknown): job is PackCheckJob {
  return (job as PackCheckJob).kind === 'check-pack';
}

export function runPackCheck(keys: BlobKeys, job: PackCheckJob): PackCheckResult {
  const result: PackCheckResult = { n: job.n, inHeader: [], blobErrors: [], blobsRead: 0, trees: [] };
  const bytes = job.buf;
  if (job.packId !== undefined && toHex(blake3(bytes)) !== job.packId) result.idMismatch = true;
  let entries: ReturnType<typeof parsePackHeader>;
  try {
    entries = parsePackHeader(keys.dataKey, bytes);
  } catch (err) {
    result.headerError = codeOf(err);
    return result;
  }
  let treeBytes = 0;
  for (const e of entries) {
    const id = toHex(e.id);
    const key = `${id}:${e.offset}:${e.length}`;
    result.inHeader.push(key);
    try {
      const raw = openBlobTransient(keys, e, bytes.subarray(e.offset, e.offset + e.length)); // copied below if kept
      result.blobsRead++;
      if (e.type === 'tree' && treeBytes + raw.length <= job.keepTreeBytes) {
        treeBytes += raw.length;
        // A copy that owns its memory (raw may be a view of the LZ4 codec's memory).
        // Transferred back by its whole buffer: copy it unless it owns that buffer alone (`new
        // Uint8Array(x)` copies; Buffer#slice would not).
        const owned = raw.byteOffset === 0 && raw.byteLength === raw.buffer.byteLength ? raw : new Uint8Array(raw);
        result.trees.push({ key, raw: owned });
      }
    } catch (err) {
      result.blobErrors.push({ id, ...codeOf(err) });
    }
  }
  return result;
}

function codeOf(err: unknown): { code: string; message: string } {
  const e = err as { code?: string; message?: string };
  return { code: typeof e?.code === 'string' ? e.code : 'IO_ERROR', message: e?.message ?? String(err) };
}
