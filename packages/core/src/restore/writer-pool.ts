/**
 * Runs restore jobs (writer.ts) on worker threads, so decrypting, decompressing, hashing and the
 * file system calls of writing run beside the main thread, which walks the snapshot, creates
 * directories and reads packs. By default there is one worker per core but one, and the calling
 * thread takes jobs itself whenever every worker already has enough queued (which it does once it
 * has nothing else to do): all cores busy, no more threads than cores. A job goes to the worker
 * with the least queued; its buffer is transferred, not copied. Falls back to running every job on
 * the calling thread when threads are disabled or the worker bundle is absent (tests running from
 * source).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { CairnError } from '../errors.js';
import type { BlobKeys } from '../format/blob.js';
import { isPackCheckJob, type PackCheckJob, type PackCheckResult, runPackCheck } from '../maintain/pack-check.js';
import { bundledWorkerScript } from '../worker-script.js';
import { isOpenTreesJob, type OpenTreesJob, type OpenTreesResult, runOpenTrees } from './tree-open.js';
import { runJob, type WireJob, type WireResult } from './writer.js';

/** What the pool's threads run: restore writes, restore's tree opening, and verify's pack checks. */
export type PoolJob = WireJob | OpenTreesJob | PackCheckJob;
type PoolResult = WireResult | OpenTreesResult | PackCheckResult;
type ResultOf<J extends PoolJob> = J extends PackCheckJob
  ? PackCheckResult
  : J extends OpenTreesJob
    ? OpenTreesResult
    : WireResult;

/** Runs a job of any kind on this thread. */
export function runPoolJob<J extends PoolJob>(keys: BlobKeys, job: J): ResultOf<J> {
  if (isPackCheckJob(job)) return runPackCheck(keys, job) as ResultOf<J>;
  if (isOpenTreesJob(job)) return runOpenTrees(keys, job) as ResultOf<J>;
  return runJob(keys, job as WireJob) as ResultOf<J>;
}

interface Slot {
  worker: Worker;
  /** The worker has loaded its code and takes jobs at once (it says so in its first message). */
  ready: boolean;
  load: number;
  jobs: Map<
    number,
    {
      load: number;
      resolve: (r: PoolResult) => void;
      reject: (e: unknown) => void;
      giveBack: ((buffer: ArrayBuffer) => void) | undefined;
    }
  >;
}

/** The keys, posted to a thread started without them ({@link prestartWriterThreads}) before its first job. */
export interface KeysMessage {
  keys: BlobKeys;
}

/** A job as posted to a worker: `lent` when its buffer must come back with the result. */
export type LentJob = PoolJob & { lent?: boolean };
/** A job's result as a worker posts it: with the job's buffer, moved back, when it was lent. */
export type PostedResult = PoolResult & { back?: ArrayBuffer };

/** Jobs queued on a worker beyond which the calling thread runs the next one itself. */
const QUEUED_PER_WORKER = 2;
/** Young generation of a writer thread (V8's default grows to tens of MiB per thread). */
const YOUNG_GENERATION_MB = 4;

/** Worker threads used by default: one per core but one (the calling thread works too). */
export function defaultWriterThreads(): number {
  return Math.max(1, availableParallelism() - 1);
}

/** A worker started ahead of its pool (see {@link prestartWriterThreads}). */
interface Spare {
  worker: Worker;
  ready: boolean;
  dead: boolean;
  /** Removes the spare's own listeners (its pool adds its own). */
  detach: () => void;
}

/** Threads started ahead, taken by the next pools made. */
const spares: Spare[] = [];

function startWorker(script: URL | string, keys: BlobKeys | undefined): Worker {
  return new Worker(script, {
    ...(keys ? { workerData: keys } : {}),
    resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
  });
}

/**
 * Starts up to `count` writer threads now, before the repository's keys are known, so that they
 * have loaded their code (~50 ms of a core each) when a restore or `verify --read-data` begins: the
 * next pools take them and send them the keys. Meant for the time a key derivation leaves a core
 * idle (the CLI starts them from `OpenOptions.onKeyDerivation`). Idle spare threads do not keep
 * the process alive. Returns the number of spare threads ready or starting.
 */
export function prestartWriterThreads(count = defaultWriterThreads()): number {
  const script = bundledWorkerScript('restore-worker.js');
  if (!script) return 0;
  for (let i = spares.length - 1; i >= 0; i--) if (spares[i]!.dead) spares.splice(i, 1);
  while (spares.length < count) {
    let worker: Worker;
    try {
      worker = startWorker(script, undefined);
    } catch {
      break; // threads cannot be started here: pools run their jobs on the calling thread
    }
    const spare: Spare = { worker, ready: false, dead: false, detach: () => {} };
    const onMessage = (m: { ready?: true }) => {
      if (m?.ready) spare.ready = true;
    };
    const onGone = () => {
      spare.dead = true;
    };
    worker.on('message', onMessage);
    worker.on('error', onGone);
    worker.on('exit', onGone);
    spare.detach = () => {
      worker.off('message', onMessage);
      worker.off('error', onGone);
      worker.off('exit', onGone);
    };
    worker.unref();
    spares.push(spare);
  }
  return spares.length;
}

export class WriterPool {
  private readonly slots: Slot[] = [];
  private failure: unknown;
  private closed = false;
  private inlineBusy = false;

  constructor(
    private readonly keys: BlobKeys,
    threads: number,
  ) {
    const script = threads > 0 ? bundledWorkerScript('restore-worker.js') : undefined;
    if (!script) return;
    const data: BlobKeys = { dataKey: new Uint8Array(keys.dataKey), idKey: new Uint8Array(keys.idKey) };
    try {
      for (let i = 0; i < threads; i++) {
        let spare = spares.shift();
        while (spare?.dead) spare = spares.shift();
        let worker: Worker;
        if (spare) {
          spare.detach();
          worker = spare.worker;
          worker.ref();
          worker.postMessage({ keys: data } satisfies KeysMessage); // before any job: messages keep their order
        } else {
          worker = startWorker(script, data);
        }
        const slot: Slot = { worker, ready: spare?.ready ?? false, load: 0, jobs: new Map() };
        worker.on('message', (r: PostedResult | { ready: true }) => {
          if ('ready' in r) {
            slot.ready = true;
            return;
          }
          const entry = slot.jobs.get(r.n);
          if (!entry) return;
          slot.jobs.delete(r.n);
          slot.load -= entry.load;
          if (r.back) {
            entry.giveBack?.(r.back);
            delete r.back;
          }
          entry.resolve(r);
        });
        worker.on('error', (err) => this.fail(err));
        worker.on('exit', (code) => {
          if (!this.closed) this.fail(new CairnError('IO_ERROR', `restore worker exited unexpectedly (code ${code})`));
        });
        this.slots.push(slot);
      }
    } catch {
      // Threads cannot be started here: every job runs on the calling thread.
      for (const s of this.slots.splice(0)) void s.worker.terminate();
    }
  }

  /** Worker threads in use (0: jobs run on the calling thread). */
  get threads(): number {
    return this.slots.length;
  }

  /** True once a worker has loaded its code (a job posted before waits for that). */
  get ready(): boolean {
    return this.slots.some((s) => s.ready);
  }

  /**
   * Runs a job; `load` weighs it for balancing (bytes). The job's buffer is transferred. Job
   * numbers (`n`) must be unique among the jobs in flight. With `giveBack`, the buffer behind
   * `job.buf` is the caller's own and lent whole (no copy, even for a view of part of it): once the
   * job is done it comes back through `giveBack`, to be read into again.
   */
  run<J extends PoolJob>(job: J, load: number, giveBack?: (buffer: ArrayBuffer) => void): Promise<ResultOf<J>> {
    if (this.failure) return Promise.reject(this.failure);
    const inline = () => {
      const r = runPoolJob(this.keys, job);
      if (giveBack && job.buf) giveBack(job.buf.buffer as ArrayBuffer);
      return r;
    };
    if (this.slots.length === 0) return Promise.resolve().then(inline);
    const slot = this.slots.reduce((a, b) => (b.load < a.load ? b : a));
    if (slot.jobs.size >= QUEUED_PER_WORKER && !this.inlineBusy) {
      // Every worker has work queued: the calling thread takes this one (after pending I/O).
      this.inlineBusy = true;
      return new Promise((resolve) =>
        setImmediate(() => {
          try {
            resolve(inline());
          } finally {
            this.inlineBusy = false;
          }
        }),
      );
    }
    return new Promise((resolve, reject) => {
      slot.jobs.set(job.n, { load, resolve: resolve as (r: PoolResult) => void, reject, giveBack });
      slot.load += load;
      // Stores hand out a buffer the caller owns (DiskStore and MemoryStore allocate one per
      // read); a view into a larger one (e.g. a pooled Buffer) is copied so only its bytes move,
      // unless the caller lends the whole buffer (giveBack).
      let buf = job.buf;
      if (buf && !giveBack && (buf.byteOffset !== 0 || buf.byteLength !== buf.buffer.byteLength))
        buf = job.buf = new Uint8Array(buf);
      const msg: LentJob = giveBack && buf ? { ...job, lent: true } : job;
      slot.worker.postMessage(msg, buf ? [buf.buffer as ArrayBuffer] : []);
    });
  }

  private fail(err: unknown): void {
    if (this.closed) return;
    this.failure ??=
      err instanceof CairnError
        ? err
        : new CairnError('IO_ERROR', `restore worker failed: ${(err as Error)?.message ?? err}`, { cause: err });
    for (const slot of this.slots) {
      for (const entry of slot.jobs.values()) entry.reject(this.failure);
      slot.jobs.clear();
      slot.load = 0;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
