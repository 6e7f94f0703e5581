/**
 * The fuzz runner shared by the decoder fuzz tests. For one decoder it replays every input of its
 * corpus folder (`corpus/<decoder>/`: seed inputs and every input that ever failed), then runs a
 * fixed number of seeded mutation cases. It guarantees that a test fails, naming the seed, case
 * and mutations, when a case throws anything but a CairnError with an expected code, takes longer
 * than the per-case budget, or when the heap grows beyond a bound over the run.
 *
 * Failing inputs are written to the corpus folder as `crash-<sha256 prefix>.bin` (unless
 * CAIRN_FUZZ_SAVE=0), so they are replayed by every later run. Environment knobs:
 * CAIRN_FUZZ_SEED (run seed, default fixed so CI is deterministic), CAIRN_FUZZ_SCALE (multiplies
 * case counts for longer local runs), CAIRN_FUZZ_WRITE_SEEDS=1 (rewrite the seed inputs), CAIRN_FUZZ_VERBOSE=1 (one summary line per decoder).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { CairnError, type ErrorCode } from '../../src/errors.js';
import { caseSeed, mutateBytes, Rng } from './mutate.js';

/** Run seed: fixed unless CAIRN_FUZZ_SEED is set (a failure message prints the seed to reuse). */
export const FUZZ_SEED = Number(process.env.CAIRN_FUZZ_SEED ?? 0x0c41a7);
const SCALE = Number(process.env.CAIRN_FUZZ_SCALE ?? 1);
const SAVE = process.env.CAIRN_FUZZ_SAVE !== '0';
const CORPUS_ROOT = fileURLToPath(new URL('./corpus/', import.meta.url));

/** Heap plus array-buffer growth tolerated over one decoder's run (bytes). */
const HEAP_GROWTH_LIMIT = 96 * 1024 * 1024;

/** Number of cases for a nominal count, scaled by CAIRN_FUZZ_SCALE. */
export function scaled(cases: number): number {
  return Math.max(1, Math.round(cases * SCALE));
}

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function memoryInUse(): number {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** The folder of one decoder's corpus. */
export function corpusDir(decoder: string): string {
  return join(CORPUS_ROOT, decoder);
}

/** Every file of a decoder's corpus, sorted by name (seeds and regressions alike). */
export function loadCorpus(decoder: string): { name: string; bytes: Uint8Array }[] {
  const dir = corpusDir(decoder);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.bin'))
    .sort()
    .map((name) => ({ name, bytes: new Uint8Array(readFileSync(join(dir, name))) }));
}

/** Writes generated seed inputs as `seed-<n>.bin` when CAIRN_FUZZ_WRITE_SEEDS=1 (or the folder is empty). */
export function maybeWriteSeeds(decoder: string, seeds: readonly Uint8Array[]): void {
  const dir = corpusDir(decoder);
  const empty = !existsSync(dir) || !readdirSync(dir).some((f) => f.startsWith('seed-'));
  if (process.env.CAIRN_FUZZ_WRITE_SEEDS !== '1' && !empty) return;
  mkdirSync(dir, { recursive: true });
  for (const [i, s] of seeds.entries()) writeFileSync(join(dir, `seed-${String(i).padStart(2, '0')}.bin`), s);
}

/** One decoder under fuzz. */
export interface FuzzTarget {
  /** Corpus folder name. */
  decoder: string;
  /** Valid inputs to mutate, besides the corpus files. */
  seeds: readonly Uint8Array[];
  /** Mutation cases to run. */
  cases: number;
  /** Error codes the decoder may throw. Anything else fails the run. */
  codes: readonly ErrorCode[];
  /** Produces the case input from a base input (usually `mutateBytes`). */
  mutate(base: Uint8Array, r: Rng, bases: readonly Uint8Array[]): { bytes: Uint8Array; ops: string[] };
  /** Runs the decoder on one input; returning normally means the input was accepted. */
  run(input: Uint8Array, r: Rng): unknown;
  /** Per-case time budget in ms (default 500): a case taking longer counts as a hang. */
  budgetMs?: number;
  /** Write failing inputs to the corpus folder (default true; the harness self-test turns it off). */
  saveFailures?: boolean;
}

/** A case that broke a rule. */
export interface FuzzFailure {
  what: string;
  caseIndex: number | string;
  ops: string[];
  error?: unknown;
  saved?: string;
}

/** What one decoder's run did. */
export interface FuzzReport {
  decoder: string;
  seed: number;
  cases: number;
  /** Count per outcome: `ok` or an error code. */
  outcomes: Record<string, number>;
  slowestMs: number;
  heapGrowth: number;
  failures: FuzzFailure[];
}

function save(decoder: string, bytes: Uint8Array, enabled = true): string | undefined {
  if (!SAVE || !enabled) return undefined;
  const dir = corpusDir(decoder);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `crash-${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}.bin`);
  writeFileSync(path, bytes);
  return path;
}

/**
 * Replays the corpus, then runs `target.cases` seeded mutation cases. Never throws for a decoder
 * failure: the report lists them (see {@link assertClean}).
 */
export async function runFuzz(target: FuzzTarget): Promise<FuzzReport> {
  const corpus = loadCorpus(target.decoder);
  const bases = [...target.seeds, ...corpus.map((c) => c.bytes)];
  if (bases.length === 0) throw new Error(`fuzz ${target.decoder}: no inputs`);
  const budget = target.budgetMs ?? 500;
  const report: FuzzReport = {
    decoder: target.decoder,
    seed: FUZZ_SEED,
    cases: 0,
    outcomes: {},
    slowestMs: 0,
    heapGrowth: 0,
    failures: [],
  };
  const before = memoryInUse();

  const one = async (input: Uint8Array, r: Rng, caseIndex: number | string, ops: string[]) => {
    const t0 = performance.now();
    let outcome = 'ok';
    try {
      await target.run(input, r);
    } catch (error) {
      if (error instanceof CairnError && target.codes.includes(error.code)) outcome = error.code;
      else {
        outcome = 'failure';
        const saved = typeof caseIndex === 'number' ? save(target.decoder, input, target.saveFailures) : undefined;
        report.failures.push({ what: 'unexpected exception', caseIndex, ops, error, ...(saved ? { saved } : {}) });
      }
    }
    const ms = performance.now() - t0;
    report.slowestMs = Math.max(report.slowestMs, ms);
    if (ms > budget) {
      const saved = typeof caseIndex === 'number' ? save(target.decoder, input, target.saveFailures) : undefined;
      report.failures.push({
        what: `took ${ms.toFixed(0)} ms (budget ${budget})`,
        caseIndex,
        ops,
        ...(saved ? { saved } : {}),
      });
    }
    report.outcomes[outcome] = (report.outcomes[outcome] ?? 0) + 1;
    report.cases++;
  };

  // Regression and seed files first, unmutated.
  for (const c of corpus) await one(c.bytes, new Rng(caseSeed(FUZZ_SEED, target.decoder, -1)), c.name, ['corpus']);
  for (let i = 0; i < target.cases; i++) {
    const r = new Rng(caseSeed(FUZZ_SEED, target.decoder, i));
    const base = r.pick(bases);
    let m: { bytes: Uint8Array; ops: string[] };
    try {
      m = target.mutate(base, r, bases);
    } catch {
      // Structural mutators recurse (structuredClone, JSON.stringify) and cannot take the deeply
      // nested regression inputs: those get byte mutations.
      m = mutateBytes(base, r, { others: bases });
      m.ops.unshift('fallback');
    }
    await one(m.bytes, r, i, m.ops);
  }
  report.heapGrowth = memoryInUse() - before;
  if (report.heapGrowth > HEAP_GROWTH_LIMIT) {
    report.failures.push({ what: `heap grew by ${report.heapGrowth} bytes`, caseIndex: 'all', ops: [] });
  }
  if (process.env.CAIRN_FUZZ_VERBOSE === '1') {
    console.info(
      `fuzz ${report.decoder}: ${report.cases} cases ${JSON.stringify(report.outcomes)} slowest ${report.slowestMs.toFixed(1)} ms heap +${report.heapGrowth} B`,
    );
  }
  return report;
}

/** A readable account of a report's failures (empty string when clean). */
export function describeFailures(report: FuzzReport): string {
  return report.failures
    .slice(0, 10)
    .map((f) => {
      const err = f.error instanceof Error ? `${f.error.name}: ${f.error.message}\n${f.error.stack}` : String(f.error);
      return (
        `[${report.decoder}] ${f.what} — CAIRN_FUZZ_SEED=${report.seed} case ${f.caseIndex} ops ${f.ops.join(',')}` +
        `${f.saved ? ` saved ${f.saved}` : ''}${f.error === undefined ? '' : `\n${err}`}`
      );
    })
    .join('\n\n');
}
