/**
 * Turns file contents into blob ids: read → FastCDC → keyed BLAKE3 → batched dedup lookup →
 * compress → seal. Runs inside a worker thread (one per core) or inline on the main thread; the
 * dedup lookup and the packing of sealed blobs are services of the main thread, so this class
 * holds no repository state.
 *
 * Bytes are read straight into the chunker's WebAssembly memory; chunks are hashed and compressed
 * from views of it, and sealed straight into one buffer per batch, which moves to the main thread
 * without copying. Ids cross threads packed in one array (structured clone would otherwise copy
 * the whole pool slab behind each small id). Memory is bounded: one batch (≈ {@link FLUSH_BYTES})
 * waits for its lookup, at most {@link MAX_DELIVERIES} batches wait to be packed.
 */
import { type BigIntStats, closeSync, constants, promises as fsp, fstatSync, openSync, readSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import { BufferPool } from '../buffer-pool.js';
import { FastCdcChunker } from '../chunking/index.js';
import { type Compression, compressionId } from '../compress/index.js';
import { CairnError, throwIfAborted } from '../errors.js';
import { BLOB_ID_LENGTH, BLOB_OVERHEAD, type BlobType, packBlob, sealPackedInto } from '../format/blob.js';
import { toHex } from '../format/bytes.js';
import { blake3 } from '../hashing/index.js';

/**
 * Sealed data blobs packed for transfer between threads: the sealed bytes back to back in
 * `buffer`, their ids in `ids` (32 bytes each), and per blob three numbers in `meta`: compression
 * id, raw length, sealed length (offsets follow from the lengths).
 */
export interface SealedBatch {
  buffer: ArrayBuffer;
  ids: Uint8Array;
  meta: Uint32Array;
  /** The blobs' type (default `data`: file content). */
  type?: BlobType;
}

/**
 * Raw blobs to seal, packed for transfer between threads: the bytes back to back in `raw`, their
 * lengths in `lengths`, their ids (already computed, 32 bytes each) in `ids`.
 */
export interface RawBatch {
  type: BlobType;
  compression: Compression;
  ids: Uint8Array;
  raw: Uint8Array;
  lengths: Uint32Array;
}

/** What the main thread provides to a processor. */
export interface ContentServices {
  /**
   * For ids packed 32 bytes each, one flag per id: 1 when the blob must be stored (unknown to the
   * repository and to this run), 0 when it is already there or on its way.
   */
  lookup(ids: Uint8Array): Promise<Uint8Array>;
  /**
   * Accepts sealed blobs for packing; resolves once accepted (may wait: backpressure). Once it
   * resolves, nothing refers to `batch.buffer` any more: it may resolve with that buffer (or with
   * the same memory, moved back from another thread) for the processor to fill again.
   */
  deliver(batch: SealedBatch): Promise<ArrayBuffer | undefined>;
  /** Bytes read from the source since the last call (progress; at least every {@link READ_REPORT_BYTES}). */
  read?(bytes: number): void;
}

/** Bytes read between two progress reports. */
export const READ_REPORT_BYTES = 1024 * 1024;

/** Settings shared by every processor of one backup. */
export interface ContentSettings {
  dataKey: Uint8Array;
  idKey: Uint8Array;
  chunker: { min: number; avg: number; max: number; normalization: 0 | 1 | 2 | 3; seed: bigint };
  compression: Compression;
}

/** What processing one file produced. */
export interface ContentResult {
  /** Blob ids (hex) of the content, in order. */
  content: string[];
  /** Bytes read. */
  size: number;
  /** True when the file's size or mtime changed while it was read. */
  changed: boolean;
}

/** What is known of a file before reading it (from lstat). */
export interface FileExpectation {
  size: number;
  mtimeNs: bigint;
}

/** Chunks held before a lookup round trip. */
const FLUSH_BYTES = 2 * 1024 * 1024;
const FLUSH_COUNT = 512;
/** Pending chunk bytes that are copied out of chunker memory instead of flushing early. */
const COPY_LIMIT = 1024 * 1024;
/** Sealed batches handed over but not yet accepted, at most. */
const MAX_DELIVERIES = 2;
/**
 * Smallest batch buffer: a full flush plus a maximum-size chunk of the default parameters fits.
 * Buffers come back after delivery and are filled again: a fresh multi-megabyte buffer per batch
 * kept both threads' garbage collectors busy (on the main thread ~24 full collections in a 1.2 GB
 * backup, started by the external memory they add).
 */
const BATCH_BUFFER_MIN = FLUSH_BYTES + 4 * 1024 * 1024 + 64 * 1024;

interface PendingChunk {
  id: Uint8Array;
  data: Uint8Array;
  /** True while `data` is a view of chunker memory. */
  view: boolean;
}

export class ContentProcessor {
  private readonly chunker: FastCdcChunker;
  private pending: PendingChunk[] = [];
  private pendingBytes = 0;
  private viewBytes = 0;
  private deliveries: Promise<void>[] = [];
  /** Batch buffers back from delivery, ready to be filled again (room for MAX_DELIVERIES + 1). */
  private readonly buffers = new BufferPool((MAX_DELIVERIES + 1) * BATCH_BUFFER_MIN, BATCH_BUFFER_MIN);

  constructor(
    private readonly settings: ContentSettings,
    private readonly services: ContentServices,
  ) {
    // A buffer of one maximum chunk plus 1 MiB: reads stay large, memory small.
    this.chunker = new FastCdcChunker({ ...settings.chunker, bufferSize: settings.chunker.max + 1024 * 1024 });
  }

  /**
   * Chunks, dedups and stores one file; compares size and mtime before and after reading.
   * In a worker thread the file is read with blocking calls: that thread has nothing else to do,
   * and it keeps file reads out of libuv's small thread pool, which the main thread needs for
   * walking the tree, the index and writing packs.
   */
  async processFile(path: string | Uint8Array, expect: FileExpectation, signal?: AbortSignal): Promise<ContentResult> {
    const file = toPathArg(path);
    // O_NONBLOCK: if the file was replaced by a FIFO since lstat, opening must not hang.
    const flags = constants.O_RDONLY | constants.O_NONBLOCK;
    if (!isMainThread) {
      const fd = openSync(file, flags);
      try {
        if (!fstatSync(fd).isFile()) throw notRegular();
        const content = await this.run(async (view) => readSync(fd, view, 0, view.length, null), signal);
        return { ...content, changed: changedSince(fstatSync(fd, { bigint: true }), expect, content.size) };
      } finally {
        closeSync(fd);
      }
    }
    const handle = await fsp.open(file, flags);
    try {
      if (!(await handle.stat()).isFile()) throw notRegular();
      const content = await this.run(async (view) => (await handle.read(view, 0, view.length, null)).bytesRead, signal);
      return { ...content, changed: changedSince(await handle.stat({ bigint: true }), expect, content.size) };
    } finally {
      await handle.close();
    }
  }

  /** Chunks, dedups and stores a byte stream (stdin, a database dump). */
  async processStream(source: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<ContentResult> {
    const it = source[Symbol.asyncIterator]();
    let carry: Uint8Array | undefined;
    const content = await this.run(async (view) => {
      while (!carry || carry.length === 0) {
        const next = await it.next();
        if (next.done) return 0;
        carry = next.value instanceof Uint8Array ? next.value : new Uint8Array(Buffer.from(next.value));
      }
      const n = Math.min(view.length, carry.length);
      view.set(carry.subarray(0, n));
      carry = carry.subarray(n);
      return n;
    }, signal);
    return { ...content, changed: false };
  }

  /**
   * Looks up and delivers every chunk still pending, and waits until every batch is accepted.
   * Chunks of several files share one lookup (small files would otherwise cost a round trip
   * each), so callers run this after a batch of files and before relying on their blobs.
   */
  async finishBatch(): Promise<void> {
    await this.flush();
    const left = this.deliveries;
    this.deliveries = [];
    await Promise.all(left);
  }

  /**
   * Seals blobs whose ids the main thread computed (tree blobs: sealing them there held up the
   * walk) and delivers them like content, without waiting for acceptance (see {@link finishBatch}).
   */
  async sealRaw(batch: RawBatch): Promise<void> {
    const starts: number[] = [];
    let at = 0;
    for (const length of batch.lengths) {
      starts.push(at);
      at += length;
    }
    const bound = at + batch.lengths.length * BLOB_OVERHEAD;
    await this.sealAndDeliver(batch.type, batch.compression, batch.ids, bound, (j) =>
      batch.raw.subarray(starts[j]!, starts[j]! + batch.lengths[j]!),
    );
  }

  /** Drops pending chunks and waits out deliveries already handed over (after a failure). */
  async discard(): Promise<void> {
    this.pending = [];
    this.pendingBytes = 0;
    this.viewBytes = 0;
    const left = this.deliveries;
    this.deliveries = [];
    await Promise.allSettled(left);
  }

  /**
   * Feeds the chunker from `read` until it returns 0. The file's chunks may stay pending (see
   * {@link finishBatch}); chunk views from an earlier file are copied or flushed before the
   * chunker's memory is reused.
   */
  private async run(
    read: (view: Uint8Array) => Promise<number>,
    signal: AbortSignal | undefined,
  ): Promise<Omit<ContentResult, 'changed'>> {
    const chunker = this.chunker;
    if (this.viewBytes > COPY_LIMIT) await this.flush();
    else this.detachViews();
    chunker.reset();
    const ids: string[] = [];
    let size = 0;
    let unreported = 0;
    try {
      for (;;) {
        throwIfAborted(signal);
        // Chunk views die when the chunker compacts: flush them, or copy the few small ones.
        if (this.viewBytes > COPY_LIMIT) await this.flush();
        else this.detachViews();
        const view = chunker.writable();
        const n = await read(view);
        if (n === 0) chunker.finish();
        else chunker.commit(n);
        size += n;
        unreported += n;
        if (unreported >= READ_REPORT_BYTES || (n === 0 && unreported > 0)) {
          this.services.read?.(unreported);
          unreported = 0;
        }
        for (let c = chunker.next(); c; c = chunker.next()) {
          const id = blake3(c.data, { key: this.settings.idKey });
          ids.push(toHex(id));
          this.pending.push({ id, data: c.data, view: true });
          this.pendingBytes += c.length;
          this.viewBytes += c.length;
        }
        if (this.pendingBytes >= FLUSH_BYTES || this.pending.length >= FLUSH_COUNT) await this.flush();
        if (n === 0) break;
      }
    } catch (err) {
      // This file's chunks may be views of memory about to be reused: deliver what is pending.
      await this.finishBatch().catch(() => {});
      throw err;
    }
    return { content: ids, size };
  }

  private detachViews(): void {
    if (this.viewBytes === 0) return;
    for (const p of this.pending) {
      if (p.view) {
        p.data = p.data.slice();
        p.view = false;
      }
    }
    this.viewBytes = 0;
  }

  /**
   * Looks up the pending chunks, seals the new ones into one batch, and hands it over without
   * waiting for it to be packed (at most {@link MAX_DELIVERIES} outstanding).
   */
  private async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const chunks = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    const packedIds = new Uint8Array(chunks.length * BLOB_ID_LENGTH);
    chunks.forEach((c, i) => {
      packedIds.set(c.id, i * BLOB_ID_LENGTH);
    });
    const need = await this.services.lookup(packedIds);
    const fresh: PendingChunk[] = [];
    const seen = new Set<string>();
    let bound = 0;
    for (let i = 0; i < chunks.length; i++) {
      if (!need[i]) continue;
      const c = chunks[i]!;
      const key = toHex(c.id);
      if (seen.has(key)) continue; // the same chunk twice in one batch (e.g. runs of zeros)
      seen.add(key);
      fresh.push(c);
      bound += c.data.length + BLOB_OVERHEAD; // stored raw when compression does not shrink it
    }
    if (fresh.length === 0) {
      this.viewBytes = 0;
      return;
    }
    const ids = new Uint8Array(fresh.length * BLOB_ID_LENGTH);
    fresh.forEach((c, j) => {
      ids.set(c.id, j * BLOB_ID_LENGTH);
    });
    this.viewBytes = 0; // every view is consumed: sealed into the batch below
    await this.sealAndDeliver('data', this.settings.compression, ids, bound, (j) => fresh[j]!.data);
  }

  /**
   * Seals the blobs whose ids `ids` holds (32 bytes each; `raw(j)` gives the j-th one's bytes) into
   * one batch buffer of at most `bound` bytes, and hands it over without waiting for it to be
   * packed (at most {@link MAX_DELIVERIES} outstanding). The batch takes `ids` with it.
   */
  private async sealAndDeliver(
    type: BlobType,
    compression: Compression,
    ids: Uint8Array,
    bound: number,
    raw: (j: number) => Uint8Array,
  ): Promise<void> {
    const n = ids.length / BLOB_ID_LENGTH;
    const out = this.buffers.take(bound);
    const buffer = out.buffer as ArrayBuffer;
    const meta = new Uint32Array(n * 3);
    let off = 0;
    for (let j = 0; j < n; j++) {
      const data = raw(j);
      // Sealed at once: an LZ4 payload lives in the codec's memory until the next compression.
      const p = packBlob(type, ids.subarray(j * BLOB_ID_LENGTH, (j + 1) * BLOB_ID_LENGTH), data, compression);
      const len = sealPackedInto(this.settings.dataKey, p, out, off);
      meta[j * 3] = compressionId(p.meta.compression);
      meta[j * 3 + 1] = data.length;
      meta[j * 3 + 2] = len;
      off += len;
    }
    if (this.deliveries.length >= MAX_DELIVERIES) await this.deliveries.shift();
    // Back from another thread, or ours still (the pool ignores a detached buffer).
    const d = this.services.deliver({ buffer, ids, meta, type }).then((back) => this.buffers.give(back ?? buffer));
    d.catch(() => {}); // observed by the await above or by finishBatch
    this.deliveries.push(d);
  }
}

function notRegular(): CairnError {
  return new CairnError('INVALID_ARGUMENT', 'no longer a regular file (replaced while the backup ran)');
}

/** True when a file's size or mtime moved while it was read. */
function changedSince(after: BigIntStats, expect: FileExpectation, read: number): boolean {
  return Number(after.size) !== expect.size || after.mtimeNs !== expect.mtimeNs || read !== expect.size;
}

/** Paths travel as raw bytes (names need not be UTF-8); Node takes a Buffer as a path. */
export function toPathArg(path: string | Uint8Array): string | Buffer {
  return typeof path === 'string' ? path : Buffer.from(path.buffer, path.byteOffset, path.byteLength);
}

/** Turns any thrown value into a plain, cloneable error description. */
export function describeError(err: unknown): { code: string; message: string } {
  if (err instanceof CairnError) return { code: err.code, message: err.message };
  const e = err as NodeJS.ErrnoException;
  return { code: e?.code ?? 'IO_ERROR', message: e?.message ?? String(err) };
}
