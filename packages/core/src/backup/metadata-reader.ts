/**
 * Directory listings and lstat for the backup walk, synchronous while they are fast and
 * asynchronous once they are not.
 *
 * Why: when a tree's metadata is in the kernel's cache (a daily incremental backup of a server's
 * files, the common case), `lstatSync` costs ~1.3 µs while `fs.promises.lstat` costs 4–5 µs of the
 * main thread in promise and thread-pool hand-offs (measured on 17 000 paths: 22 ms against
 * 72–97 ms with 8 in flight), and the walk's main thread is the limit of an unchanged backup.
 * But a synchronous call blocks the event loop for as long as the disk takes, and on a cold cache,
 * a network file system or a slow disk, many calls in flight are far faster than one at a time.
 * So calls run synchronously while they are fast; {@link SLOW_IN_A_ROW} slow observations in a row
 * (a readdir, or a directory's lstat calls) switch this reader to asynchronous calls (bounded
 * concurrency). A directory's lstat calls count as slow when even the fastest of them took more than
 * {@link SLOW_CALL_MS}: a thread that loses its CPU to another (the content workers, on a machine
 * with few cores) makes one call slow, not all of them, and must not be taken for a slow disk.
 * Every {@link PROBE_EVERY}th directory after the switch is tried synchronously again, and a fast
 * one switches back (the cache warms up, or the slowness was another process's burst). The cost
 * of finding out is one directory's worth of slow calls per probe.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { mapBounded } from '../concurrency.js';

/** Time of a directory's fastest synchronous call above which the directory counts as slow. */
const SLOW_CALL_MS = 0.05;
/** Slow observations in a row that switch the reader to asynchronous calls. */
const SLOW_IN_A_ROW = 3;
/** Synchronous calls run at most this long before the reader yields to the event loop. */
const YIELD_EVERY_MS = 2;
/** In asynchronous mode, one directory in this many is tried synchronously. */
const PROBE_EVERY = 32;
/** lstat calls in flight per directory in asynchronous mode. */
const LSTAT_PARALLEL = 8;

export type StatResult = fs.BigIntStats | NodeJS.ErrnoException;

export class MetadataReader {
  /** True while calls are found slow: asynchronous calls, with a synchronous probe now and then. */
  private async_: boolean;
  private slowInARow = 0;
  private sinceProbe = 0;
  private lastYield = performance.now();
  private readonly slowCallMs: number;
  private readonly minTotalMs: number;

  /**
   * @param options.async start asynchronous; `slowCallMs` / `minTotalMs`: synchronous calls count
   * as slow when the fastest of a directory's took more than `slowCallMs` and all of them more than
   * `minTotalMs` (defaults {@link SLOW_CALL_MS} and 1 ms); {@link SLOW_IN_A_ROW} slow ones in a row
   * switch the reader to asynchronous calls, and a probe whose fastest call is within
   * `slowCallMs` switches it back.
   */
  constructor(options: { async?: boolean; slowCallMs?: number; minTotalMs?: number } = {}) {
    this.async_ = options.async ?? false;
    this.slowCallMs = options.slowCallMs ?? SLOW_CALL_MS;
    this.minTotalMs = options.minTotalMs ?? 1;
  }

  /** True when calls run asynchronously (from the start, or since they were found slow). */
  get asynchronous(): boolean {
    return this.async_;
  }

  /** Whether this directory's calls run synchronously (a probe now and then in asynchronous mode). */
  private synchronousNow(): boolean {
    if (!this.async_) return true;
    if (++this.sinceProbe < PROBE_EVERY) return false;
    this.sinceProbe = 0;
    return true;
  }

  /** Names in a directory (as bytes, kept exact), sorted bytewise. */
  async readdir(path: Buffer): Promise<Buffer[]> {
    let names: Buffer[];
    if (this.async_) names = await fsp.readdir(path, { encoding: 'buffer' });
    else {
      const t0 = performance.now();
      names = fs.readdirSync(path, { encoding: 'buffer' });
      const ms = performance.now() - t0;
      this.observe(ms, ms, 1, false);
    }
    return names.sort(Buffer.compare);
  }

  /** lstat of every path (errors in place of stats), in order. */
  async lstatAll(paths: readonly Buffer[]): Promise<StatResult[]> {
    if (!this.synchronousNow()) return lstatConcurrently(paths);
    const out: StatResult[] = new Array(paths.length);
    const t0 = performance.now();
    let fastest = Number.POSITIVE_INFINITY;
    let before = t0;
    for (let i = 0; i < paths.length; i++) {
      try {
        out[i] = fs.lstatSync(paths[i]!, { bigint: true });
      } catch (err) {
        out[i] = err as NodeJS.ErrnoException;
      }
      const after = performance.now();
      if (after - before < fastest) fastest = after - before;
      before = after;
    }
    const t1 = before;
    this.observe(fastest, t1 - t0, paths.length, true);
    // Let queued work (worker messages, uploads) run now and then: every few milliseconds of
    // synchronous calls, not after every directory (a hop through the event loop costs more than
    // the calls of a small directory).
    if (t1 - this.lastYield > YIELD_EVERY_MS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      this.lastYield = performance.now();
    }
    return out;
  }

  /**
   * Records how long synchronous calls took (the fastest one, and all together); `probe`: a verdict
   * that may also switch back.
   */
  private observe(fastestMs: number, totalMs: number, calls: number, probe: boolean): void {
    if (calls === 0) return;
    if (fastestMs > this.slowCallMs && totalMs > this.minTotalMs) {
      // A probe in asynchronous mode that is slow keeps it there; in synchronous mode it takes
      // several slow observations in a row to switch.
      if (++this.slowInARow >= SLOW_IN_A_ROW || this.async_) this.async_ = true;
    } else {
      this.slowInARow = 0;
      if (probe && fastestMs <= this.slowCallMs) this.async_ = false;
    }
  }
}

function lstatConcurrently(paths: readonly Buffer[]): Promise<StatResult[]> {
  return mapBounded(paths, LSTAT_PARALLEL, (p) =>
    fsp.lstat(p, { bigint: true }).catch((err: unknown) => err as NodeJS.ErrnoException),
  );
}
