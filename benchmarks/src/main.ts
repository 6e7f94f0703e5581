/**
 * `pnpm bench`: micro-benchmarks of the chunking path (FastCDC, BLAKE3, LZ4/zstd, AEAD and the
 * whole single-thread path). Prints a table and writes JSON to benchmarks/results/.
 *
 * Environment: BENCH_SIZE_MIB (default 256), BENCH_RUNS (default 5), BENCH_ONLY (group filter,
 * comma separated).
 */
import { makeDatasets } from './datasets.js';
import { type BenchCase, MiB, runCases, writeResults } from './harness.js';
import { microSuites } from './micro/index.js';

const sizeMiB = Number(process.env.BENCH_SIZE_MIB ?? 256);
const runs = Number(process.env.BENCH_RUNS ?? 5);
const only = process.env.BENCH_ONLY?.split(',').filter(Boolean);

const datasets = makeDatasets(sizeMiB * MiB);
console.log(`cairn micro-benchmarks: ${sizeMiB} MiB per dataset, median of ${runs} runs, node ${process.version}`);
const cases: BenchCase[] = [];
for (const suite of microSuites) {
  if (only && !only.includes(suite.group)) continue;
  cases.push(...(await suite.cases(datasets)));
}
const results = await runCases(cases, runs);
const file = writeResults('micro', { sizeMiB, runs, node: process.version, results });
console.log(`\nresults written to ${file}`);
