/**
 * Benchmark harness: runs each case several times, reports the median, and expresses every
 * throughput as a ratio to node:crypto SHA-256 measured on the same data in the same run, so
 * figures from noisy or different machines can be compared.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One named input the cases run over. */
export interface Dataset {
  name: string;
  data: Uint8Array;
}

/** One measured operation. `run` processes `bytes` bytes of input once. */
export interface BenchCase {
  group: string;
  name: string;
  dataset: Dataset;
  /** Bytes processed by one call of `run` (for MB/s). Defaults to the dataset size. */
  bytes?: number;
  /** Runs once before timing (e.g. to produce compressed input for a decompress case). */
  setup?: () => unknown | Promise<unknown>;
  run: () => unknown | Promise<unknown>;
  /** Extra facts printed in the notes column and saved in JSON (e.g. chunk-size distribution). */
  extra?: () => Record<string, unknown>;
}

export interface BenchResult {
  group: string;
  name: string;
  dataset: string;
  bytes: number;
  runs: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  mbPerS: number;
  /** Throughput divided by SHA-256's throughput on the same dataset in this run. */
  ratioToSha256: number;
  extra?: Record<string, unknown>;
}

export const MiB = 1024 * 1024;

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Times `fn` `runs` times after one warm-up; returns per-run milliseconds. */
export async function timeRuns(fn: () => unknown | Promise<unknown>, runs: number): Promise<number[]> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    (globalThis as { gc?: () => void }).gc?.();
    const t0 = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return times;
}

/** SHA-256 of the whole dataset in 1 MiB updates: the per-run baseline. */
export function sha256Case(dataset: Dataset): BenchCase {
  return {
    group: 'baseline',
    name: 'node:crypto sha256',
    dataset,
    run: () => {
      const h = createHash('sha256');
      for (let off = 0; off < dataset.data.length; off += MiB) h.update(dataset.data.subarray(off, off + MiB));
      return h.digest();
    },
  };
}

export async function runCases(cases: BenchCase[], runs: number, log = true): Promise<BenchResult[]> {
  const baselines = new Map<string, number>();
  const results: BenchResult[] = [];
  const datasets = [...new Set(cases.map((c) => c.dataset))];
  for (const ds of datasets) {
    const times = await timeRuns(sha256Case(ds).run, runs);
    const mbPerS = ds.data.length / MiB / (median(times) / 1000);
    baselines.set(ds.name, mbPerS);
    results.push(toResult(sha256Case(ds), times, 1, runs));
    if (log) printRow(results[results.length - 1]!);
  }
  for (const c of cases) {
    await c.setup?.();
    const times = await timeRuns(c.run, runs);
    const r = toResult(c, times, baselines.get(c.dataset.name)!, runs);
    results.push(r);
    if (log) printRow(r);
  }
  return results;
}

function toResult(c: BenchCase, times: number[], baselineMbPerS: number, runs: number): BenchResult {
  const bytes = c.bytes ?? c.dataset.data.length;
  const medianMs = median(times);
  const mbPerS = bytes / MiB / (medianMs / 1000);
  const extra = c.extra?.();
  return {
    group: c.group,
    name: c.name,
    dataset: c.dataset.name,
    bytes,
    runs,
    medianMs,
    minMs: Math.min(...times),
    maxMs: Math.max(...times),
    mbPerS,
    ratioToSha256: baselineMbPerS === 1 && c.group === 'baseline' ? 1 : mbPerS / baselineMbPerS,
    ...(extra ? { extra } : {}),
  };
}

let headerPrinted = false;
export function printRow(r: BenchResult): void {
  if (!headerPrinted) {
    headerPrinted = true;
    console.log(
      `${'group'.padEnd(12)} ${'case'.padEnd(38)} ${'data'.padEnd(8)} ${'median MB/s'.padStart(11)} ${'x sha256'.padStart(8)}  notes`,
    );
  }
  const notes = r.extra
    ? Object.entries(r.extra)
        .map(([k, v]) => `${k}=${typeof v === 'number' ? Math.round(v * 100) / 100 : String(v)}`)
        .join(' ')
    : '';
  console.log(
    `${r.group.padEnd(12)} ${r.name.padEnd(38)} ${r.dataset.padEnd(8)} ${r.mbPerS.toFixed(0).padStart(11)} ${r.ratioToSha256.toFixed(2).padStart(8)}  ${notes}`,
  );
}

/** Writes results as JSON under benchmarks/results/ and returns the path. */
export function writeResults(kind: string, payload: unknown): string {
  const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${kind}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(payload, null, 2)}\n`);
  return file;
}
