/**
 * Turns file contents into blob ids: read → FastCDC → keyed BLAKE3 → batched dedup lookup →
 * compress → seal. Runs inside a worker thread (one per core) or inline on the main thread; the
 * dedup lookup and the packing of sealed blobs are services of the main thread, so this class
 * holds no repository state.
 *
 * Bytes are read straight into the chunker's WebAssembly memory; chunks are hashed and sealed from
 * views of it. Memory is bounded: at most one batch of chunks (≈ {@link FLUSH_BYTES}) is held while
 * waiting for a lookup, and `deliver` applies backpressure.
 */
import { constants, promises as fsp } from 'node:fs';
import { FastCdcChunker } from '../chunking/index.js';
import type { Compression } from '../compress/index.js';
import { CairnError, throwIfAborted } from '../errors.js';
import { type SealedBlob, sealBlob } from '../format/blob.js';
import { toHex } from '../format/bytes.js';
import { blake3 } from '../hashing/index.js';

/** One sealed blob inside a {@link SealedBatch}'s buffer. */
export interface BatchBlob {
  id: Uint8Array;
  compression: Compression;
  rawLength: number;
  offset: number;
  length: number;
}

/** Sealed data blobs packed into one transferable buffer. */
export interface SealedBatch {
  buffer: ArrayBuffer;
  blobs: BatchBlob[];
}

/** What the main thread provides to a processor. */
export interface ContentServices {
  /** For each id, true when the blob must be stored (unknown to the repository and to this run). */
  lookup(ids: Uint8Array[]): Promise<boolean[]>;
  /** Accepts sealed blobs for packing; resolves once accepted (may wait: backpressure). */
  deliver(batch: SealedBatch): Promise<void>;
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
  /** Raw bytes of blobs this file added to the repository. */
  bytesAdded: number;
  /** Sealed bytes of those blobs. */
  bytesStored: number;
  /** True when the file's size or mtime changed while it was read. */
  changed: boolean;
}

/** What is known of a file before reading it (from lstat). */
export interface FileExpectation {
  size: number;
  mtimeNs: bigint;
}

/** Chunks held before a lookup round trip. */
const FLUSH_BYTES = 8 * 1024 * 1024;
const FLUSH_COUNT = 512;
/** Pending chunk bytes that are copied out of chunker memory instead of flushing early. */
const COPY_LIMIT = 1024 * 1024;

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
  private added = 0;
  private stored = 0;

  constructor(
    private readonly settings: ContentSettings,
    private readonly services: ContentServices,
  ) {
    this.chunker = new FastCdcChunker(settings.chunker);
  }

  /** Chunks, dedups and stores one file; compares size and mtime before and after reading. */
  async processFile(path: string | Uint8Array, expect: FileExpectation, signal?: AbortSignal): Promise<ContentResult> {
    // O_NONBLOCK: if the file was replaced by a FIFO since lstat, opening must not hang.
    const handle = await fsp.open(toPathArg(path), constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      if (!(await handle.stat()).isFile()) {
        throw new CairnError('INVALID_ARGUMENT', 'no longer a regular file (replaced while the backup ran)');
      }
      const content = await this.run(async (view) => {
        const { bytesRead } = await handle.read(view, 0, view.length, null);
        return bytesRead;
      }, signal);
      const after = await handle.stat({ bigint: true });
      const changed =
        Number(after.size) !== expect.size || after.mtimeNs !== expect.mtimeNs || content.size !== expect.size;
      return { ...content, changed };
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

  /** Feeds the chunker from `read` until it returns 0; flushes everything before returning. */
  private async run(
    read: (view: Uint8Array) => Promise<number>,
    signal: AbortSignal | undefined,
  ): Promise<Omit<ContentResult, 'changed'>> {
    const chunker = this.chunker;
    chunker.reset();
    this.added = 0;
    this.stored = 0;
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
      await this.flush();
    } finally {
      this.pending = [];
      this.pendingBytes = 0;
      this.viewBytes = 0;
    }
    return { content: ids, size, bytesAdded: this.added, bytesStored: this.stored };
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

  /** Looks up the pending chunks, seals the new ones into one batch, and delivers it. */
  private async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const chunks = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    const need = await this.services.lookup(chunks.map((c) => c.id));
    const sealed: SealedBlob[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < chunks.length; i++) {
      if (!need[i]) continue;
      const c = chunks[i]!;
      const key = toHex(c.id);
      if (seen.has(key)) continue; // the same chunk twice in one batch (e.g. runs of zeros)
      seen.add(key);
      sealed.push(sealBlob(this.settings.dataKey, 'data', c.id, c.data, this.settings.compression));
      this.added += c.data.length;
    }
    this.viewBytes = 0;
    if (sealed.length === 0) return;
    let total = 0;
    for (const s of sealed) total += s.sealed.length;
    const buffer = new ArrayBuffer(total);
    const bytes = new Uint8Array(buffer);
    const blobs: BatchBlob[] = [];
    let off = 0;
    for (const s of sealed) {
      bytes.set(s.sealed, off);
      blobs.push({
        id: s.id,
        compression: s.compression,
        rawLength: s.rawLength,
        offset: off,
        length: s.sealed.length,
      });
      off += s.sealed.length;
    }
    this.stored += total;
    await this.services.deliver({ buffer, blobs });
  }
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
