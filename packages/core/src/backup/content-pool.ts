/**
 * Spreads file content work over worker threads (one per core by default) so chunking, hashing,
 * compression and sealing use every core while the main thread walks the tree, answers dedup
 * lookups and writes packs. Each worker has up to {@link JOBS_PER_WORKER} jobs queued, so it never
 * waits for the main thread to hand it the next one; small files are batched into one job to
 * amortise message round trips. Once the workers run, they also seal the tree blobs whose ids the
 * main thread computed, in batches, so the walk of many small directories does not wait on it.
 * Falls back to processing inline when threads are disabled or the worker bundle is absent (tests
 * running from source).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Compression } from '../compress/index.js';
import { CairnError, type ErrorCode } from '../errors.js';
import { BLOB_ID_LENGTH, type BlobType } from '../format/blob.js';
import { bundledWorkerScript } from '../worker-script.js';
import {
  ContentProcessor,
  type ContentResult,
  type ContentServices,
  type ContentSettings,
  type FileExpectation,
  type RawBatch,
} from './content-processor.js';
import type { FileTask, ToMain, ToWorker } from './content-protocol.js';

interface Task {
  file: FileTask;
  resolve: (r: ContentResult) => void;
  reject: (e: unknown) => void;
}

/** Blobs waiting to be sealed on a worker, all of one type and compression. */
interface RawPending {
  type: BlobType;
  compression: Compression;
  ids: Uint8Array[];
  raws: Uint8Array[];
  bytes: number;
}

interface WorkerSlot {
  worker: Worker;
  jobs: Map<number, { tasks: Task[] }>;
  /** Bytes of the files queued on this worker (to balance load). */
  load: number;
}

/** Files below this size are batched together into one job. */
const SMALL_FILE = 1024 * 1024;
const BATCH_FILES = 64;
const BATCH_BYTES = 8 * 1024 * 1024;
/** Jobs a worker holds at once: one running, one ready to start. */
const JOBS_PER_WORKER = 2;
/** Blobs to seal are sent in batches of this many bytes or blobs at most. */
const SEAL_BATCH_BYTES = 1024 * 1024;
const SEAL_BATCH_BLOBS = 256;

/** Number of worker threads used by default: one per core. */
export function defaultThreads(): number {
  return Math.max(1, availableParallelism());
}

export class ContentPool {
  private readonly queue: Task[] = [];
  /** Blobs to seal, by type and compression, not yet in a batch. */
  private rawPending: RawPending | undefined;
  /** Batches of blobs to seal, sent before any file (the main thread does not wait for them). */
  private readonly sealQueue: RawBatch[] = [];
  private readonly slots: WorkerSlot[] = [];
  private readonly inline: ContentProcessor;
  private inlineBusy: Promise<unknown> = Promise.resolve();
  private jobSeq = 0;
  private failure: unknown;
  private closed = false;
  private dispatchScheduled = false;
  private readonly drainWaiters: (() => void)[] = [];

  /**
   * @param services the main thread's dedup lookup and packing
   * @param threads worker threads (0: process on the calling thread)
   * @param onRead called with the bytes read (for progress)
   */
  constructor(
    private readonly settings: ContentSettings,
    private readonly services: ContentServices,
    threads = defaultThreads(),
    private readonly onRead: (bytes: number) => void = () => {},
  ) {
    this.inline = new ContentProcessor(settings, {
      lookup: (ids) => services.lookup(ids),
      deliver: (batch) => services.deliver(batch),
      read: (bytes) => this.onRead(bytes),
    });
    this.script = threads > 0 ? bundledWorkerScript('content-worker.js') : undefined;
    this.threadCount = this.script ? threads : 0;
  }

  private readonly script: string | undefined;
  private readonly threadCount: number;

  /** Starts the workers now (before the first file), when files will surely be read. */
  start(): void {
    if (this.slots.length === 0 && this.threadCount > 0 && !this.closed) this.startWorkers(this.settings);
  }

  /** Starts the workers on first use: a backup of unchanged files never needs them. */
  private startWorkers(settings: ContentSettings): void {
    for (let i = 0; i < this.threadCount; i++) {
      const worker = new Worker(this.script!, { workerData: settings });
      const slot: WorkerSlot = { worker, jobs: new Map(), load: 0 };
      worker.on('message', (msg: ToMain) => this.onMessage(slot, msg));
      worker.on('error', (err) => this.fail(err));
      worker.on('exit', (code) => {
        if (!this.closed) this.fail(new CairnError('IO_ERROR', `content worker exited unexpectedly (code ${code})`));
      });
      this.slots.push(slot);
    }
  }

  /** Number of worker threads used (0 = inline). */
  get threads(): number {
    return this.threadCount;
  }

  /** Queues one file; resolves with its content ids. */
  processFile(path: Uint8Array, expect: FileExpectation): Promise<ContentResult> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.threadCount === 0) {
      const run = this.inlineBusy.then(() => this.inline.processFile(path, expect));
      this.inlineBusy = run.catch(() => {});
      return run;
    }
    if (this.slots.length === 0) this.startWorkers(this.settings);
    return new Promise((resolve, reject) => {
      // A copy: small Buffers are views of an 8 KiB pool slab, which postMessage would copy whole.
      const own = new Uint8Array(path);
      this.queue.push({ file: { path: own, size: expect.size, mtimeNs: expect.mtimeNs.toString() }, resolve, reject });
      // Dispatch once the walker has queued what it has at hand: fuller batches of small files.
      this.scheduleDispatch();
    });
  }

  /**
   * True when blobs can be sealed on worker threads ({@link sealRaw}): once they run. A backup that
   * reads no file (unchanged) does not start them for the few trees it stores.
   */
  get sealsElsewhere(): boolean {
    return this.slots.length > 0 && !this.closed && !this.failure;
  }

  /**
   * Queues a blob whose id the caller computed, to be sealed on a worker and delivered to the
   * packer like content ({@link drain} waits for it). Only when {@link sealsElsewhere}.
   */
  sealRaw(type: BlobType, id: Uint8Array, raw: Uint8Array, compression: Compression): void {
    if (this.failure) throw this.failure;
    let p = this.rawPending;
    if (p && (p.type !== type || p.compression !== compression)) {
      this.batchRaw();
      p = undefined;
    }
    p ??= this.rawPending = { type, compression, ids: [], raws: [], bytes: 0 };
    p.ids.push(id);
    p.raws.push(raw);
    p.bytes += raw.length;
    // Sent in full batches (the rest when the backup drains): a message and a delivery per blob
    // would cost the main thread more than sealing it.
    if (p.bytes >= SEAL_BATCH_BYTES || p.raws.length >= SEAL_BATCH_BLOBS) {
      this.batchRaw();
      this.scheduleDispatch();
    }
  }

  /** Turns the pending blobs to seal into one transferable batch. */
  private batchRaw(): void {
    const p = this.rawPending;
    if (!p) return;
    this.rawPending = undefined;
    const ids = new Uint8Array(p.ids.length * BLOB_ID_LENGTH);
    const raw = new Uint8Array(p.bytes);
    const lengths = new Uint32Array(p.raws.length);
    let at = 0;
    p.raws.forEach((r, i) => {
      ids.set(p.ids[i]!, i * BLOB_ID_LENGTH);
      raw.set(r, at);
      lengths[i] = r.length;
      at += r.length;
    });
    this.sealQueue.push({ type: p.type, compression: p.compression, ids, raw, lengths });
  }

  private scheduleDispatch(): void {
    if (this.dispatchScheduled) return;
    this.dispatchScheduled = true;
    setImmediate(() => {
      this.dispatchScheduled = false;
      this.dispatch();
    });
  }

  /** Processes a stream on the main thread (streams cannot move to a worker). */
  processStream(source: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<ContentResult> {
    const run = this.inlineBusy.then(() => this.inline.processStream(source, signal));
    this.inlineBusy = run.catch(() => {});
    return run;
  }

  /** Takes the next job off the queue: one large file, or a batch of small ones. */
  private nextJob(): Task[] {
    const tasks: Task[] = [this.queue.shift()!];
    if (tasks[0]!.file.size >= SMALL_FILE) return tasks;
    let bytes = tasks[0]!.file.size;
    while (
      this.queue.length > 0 &&
      this.queue[0]!.file.size < SMALL_FILE &&
      tasks.length < BATCH_FILES &&
      bytes + this.queue[0]!.file.size <= BATCH_BYTES
    ) {
      const t = this.queue.shift()!;
      bytes += t.file.size;
      tasks.push(t);
    }
    return tasks;
  }

  private dispatch(): void {
    while (!this.failure) {
      const free = this.slots.filter((s) => s.jobs.size < JOBS_PER_WORKER);
      if (free.length === 0) return;
      if (this.queue.length === 0 && this.sealQueue.length === 0) return;
      const slot = free.reduce((a, b) => (b.load < a.load ? b : a));
      const batch = this.sealQueue.shift();
      if (batch) {
        const job = ++this.jobSeq;
        slot.jobs.set(job, { tasks: [] });
        const seal: ToWorker = { t: 'seal', job, batch };
        slot.worker.postMessage(seal, [
          batch.ids.buffer as ArrayBuffer,
          batch.raw.buffer as ArrayBuffer,
          batch.lengths.buffer as ArrayBuffer,
        ]);
        continue;
      }
      const tasks = this.nextJob();
      const job = ++this.jobSeq;
      slot.jobs.set(job, { tasks });
      slot.load += tasks.reduce((n, t) => n + t.file.size + 4096, 0);
      const msg: ToWorker = { t: 'job', job, files: tasks.map((t) => t.file) };
      slot.worker.postMessage(msg);
    }
  }

  private onMessage(slot: WorkerSlot, msg: ToMain): void {
    switch (msg.t) {
      case 'read':
        this.onRead(msg.bytes);
        return;
      case 'lookup':
        this.services.lookup(msg.ids).then(
          (need) =>
            slot.worker.postMessage({ t: 'reply', req: msg.req, need } satisfies ToWorker, [
              need.buffer as ArrayBuffer,
            ]),
          (err) => this.fail(err),
        );
        return;
      case 'deliver':
        // The packer has copied the blobs once this resolves: the buffer goes back to be refilled.
        this.services.deliver(msg.batch).then(
          () =>
            slot.worker.postMessage({ t: 'reply', req: msg.req, buffer: msg.batch.buffer } satisfies ToWorker, [
              msg.batch.buffer,
            ]),
          (err) => this.fail(err),
        );
        return;
      case 'job-done': {
        const job = slot.jobs.get(msg.job);
        if (!job) return;
        slot.jobs.delete(msg.job);
        if (msg.bytes > 0) this.onRead(msg.bytes);
        job.tasks.forEach((task, i) => {
          slot.load -= task.file.size + 4096;
          const outcome = msg.files[i];
          if (outcome && 'result' in outcome) task.resolve(outcome.result);
          else
            task.reject(new FileContentError(outcome?.error.code ?? 'IO_ERROR', outcome?.error.message ?? 'no result'));
        });
        if (msg.error) this.fail(new CairnError((msg.error.code as ErrorCode) ?? 'IO_ERROR', msg.error.message));
        this.dispatch();
        this.settleDrain();
      }
    }
  }

  /**
   * Resolves once every queued file is processed and all its blobs are handed to the packer.
   * Call before flushing the packer: file results arrive before their blobs are delivered.
   */
  async drain(): Promise<void> {
    await this.inlineBusy;
    await this.inline.finishBatch();
    this.batchRaw();
    this.dispatch();
    if (this.busy()) await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
    if (this.failure) throw this.failure;
  }

  private busy(): boolean {
    return (
      !this.failure &&
      (this.queue.length > 0 ||
        this.sealQueue.length > 0 ||
        this.rawPending !== undefined ||
        this.slots.some((s) => s.jobs.size > 0))
    );
  }

  private settleDrain(): void {
    if (this.busy()) return;
    for (const w of this.drainWaiters.splice(0)) w();
  }

  /** Fails every queued and running task (a worker died or a service failed). */
  private fail(err: unknown): void {
    if (this.failure) return;
    this.failure = err;
    for (const t of this.queue.splice(0)) t.reject(err);
    this.sealQueue.length = 0;
    this.rawPending = undefined;
    for (const slot of this.slots) {
      for (const job of slot.jobs.values()) for (const t of job.tasks) t.reject(err);
      slot.jobs.clear();
    }
    for (const w of this.drainWaiters.splice(0)) w();
  }

  /** Stops the workers; pending tasks fail with `reason` (default ABORTED). */
  async close(reason: unknown = new CairnError('ABORTED', 'operation was cancelled')): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.fail(reason);
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}

/** A file-level failure reported by a worker (the file is skipped, the backup goes on). */
export class FileContentError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'FileContentError';
  }
}
