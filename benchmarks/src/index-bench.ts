/**
 * `pnpm bench:index`: the dedup index at scale, driven through core's public API the way the
 * engine drives it (ARCHITECTURE.md §3: a LevelDB cache of the repository's index segments,
 * batched lookups, bounded memory).
 *
 * Each phase runs in its own child process, so its peak RSS (`process.resourceUsage().maxRSS`)
 * is what a `cairn` process doing that work would need, not what an earlier phase left behind:
 *  1. fill    — N synthetic blobs (random 32-byte ids; realistic locations: ~16 blobs of ~1 MiB per
 *               16 MiB pack) registered with `RepoIndex.addPack` and written as index segments of
 *               ~100k entries with `savePending` (encode, seal, store, one LevelDB batch per
 *               segment): the path `repair index` takes, and the largest segments any path writes.
 *  2. lookup  — open the filled repository (incremental sync: nothing to load), then batched
 *               `index.lookup` of 256 ids: 100% hits, 50/50, 0% hits (a first backup of new data),
 *               one caller at a time and two at once (two content workers).
 *  3. rebuild — delete the cache and open again: every segment is read, decrypted and loaded (a new
 *               client, or a lost cache).
 * Every child also reports its idle RSS (after imports and repository open, before the work) so
 * the work's own cost is visible; `tsx` adds ≈ 25-30 MiB to every process over the built CLI.
 *
 * Environment: BENCH_INDEX_ENTRIES (default 5000000), BENCH_INDEX_SEGMENT (entries per segment,
 * default 100000), BENCH_INDEX_LOOKUPS (ids looked up per mix, default 1000000), BENCH_INDEX_BATCH
 * (default 256), BENCH_INDEX_DIR (work directory; default a fresh one under the OS temp dir,
 * removed afterwards unless BENCH_KEEP=1), BENCH_INDEX_TRACE=1 (memory after every segment).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type PackEntry, Repository, toHex } from '@cairn/core';
import { median, writeResults } from './harness.js';
import { BenchFileStore } from './lib/file-store.js';
import { diskUsage, machineInfo, mib, printTable, procStatusBytes, type RssPeaks, sampleRss } from './lib/proc.js';

const ENTRIES = Number(process.env.BENCH_INDEX_ENTRIES ?? 5_000_000);
const PER_SEGMENT = Number(process.env.BENCH_INDEX_SEGMENT ?? 100_000);
const LOOKUPS = Number(process.env.BENCH_INDEX_LOOKUPS ?? 1_000_000);
const BATCH = Number(process.env.BENCH_INDEX_BATCH ?? 256);
const TRACE = process.env.BENCH_INDEX_TRACE === '1';
const PACK_SIZE = 16 * 1024 * 1024;
const PASSWORD = 'bench';
const RSS_TARGET = 250 * 1024 * 1024;
const LOOKUP_TARGET = 200_000;

// ---- deterministic ids: 32 bytes from (salt, i) through murmur3's finaliser ----------------------

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Blob ids: salt 1 for i < ENTRIES (stored), salt 2 (never stored); pack ids: salt 3. */
function makeId(salt: number, i: number): Uint8Array {
  const out = new Uint8Array(32);
  const v = new DataView(out.buffer);
  const lo = i >>> 0;
  const hi = Math.floor(i / 2 ** 32);
  for (let w = 0; w < 8; w++) {
    v.setUint32(w * 4, fmix32(fmix32(lo ^ Math.imul(w + 1, 0x9e3779b9)) ^ hi ^ (salt << 24) ^ w));
  }
  return out;
}

/** xorshift32 in [0, 1): deterministic sizes and sampling. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

const maxRss = () => process.resourceUsage().maxRSS * 1024;
const rss = () => process.memoryUsage().rss;

function traceMemory(label: string): void {
  const m = process.memoryUsage();
  console.error(
    `    ${label}: rss ${mib(m.rss)} (anon ${mib(procStatusBytes('RssAnon'))} file ${mib(procStatusBytes('RssFile'))}) ` +
      `heapTotal ${mib(m.heapTotal)} heapUsed ${mib(m.heapUsed)} external ${mib(m.external)} MiB`,
  );
}

// ---- child phases (run as `index-bench.ts --phase NAME DIR`); print one JSON line -------------------

interface PhaseResult {
  phase: string;
  seconds: number;
  idleRssBytes: number;
  peakRssBytes: number;
  [k: string]: unknown;
}

interface LookupRow {
  mix: string;
  concurrency: number;
  lookups: number;
  lookupsPerSecond: number;
  batchMsMedian: number;
  batchMsP99: number;
}

async function childFill(dir: string): Promise<PhaseResult> {
  const store = new BenchFileStore(join(dir, 'repo'));
  const repo = await Repository.init(store, {
    password: PASSWORD,
    cacheDir: join(dir, 'cache'),
    scrypt: { N: 1024, r: 8, p: 1 },
  });
  const index = await repo.index();
  const idle = rss();
  const r = rng(12345);
  const segmentMs: number[] = [];
  let i = 0;
  let packs = 0;
  const t0 = process.hrtime.bigint();
  while (i < ENTRIES) {
    const s0 = process.hrtime.bigint();
    const segEnd = Math.min(ENTRIES, i + PER_SEGMENT);
    while (i < segEnd) {
      const entries: PackEntry[] = [];
      let offset = 0;
      // Blobs of 256 KiB … 4 MiB (mean ≈ 1 MiB); LZ4 where it helped; until the pack is full.
      while (i < segEnd && offset < PACK_SIZE) {
        const rawLength = Math.round(256 * 1024 + r() * r() * 3.75 * 1024 * 1024);
        const compressed = r() < 0.6;
        const length = (compressed ? Math.round(rawLength * (0.3 + r() * 0.6)) : rawLength) + 40;
        entries.push({
          type: 'data',
          id: makeId(1, i),
          compression: compressed ? 'lz4' : 'none',
          rawLength,
          offset,
          length,
        });
        offset += length;
        i++;
      }
      index.addPack(toHex(makeId(3, packs++)), entries);
    }
    await index.savePending();
    segmentMs.push(Number(process.hrtime.bigint() - s0) / 1e6);
    if (TRACE) traceMemory(`segment ${segmentMs.length}`);
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  await repo.close();
  return {
    phase: 'fill',
    seconds,
    idleRssBytes: idle,
    peakRssBytes: maxRss(),
    entries: ENTRIES,
    packs,
    segments: segmentMs.length,
    entriesPerSecond: ENTRIES / seconds,
    segmentMsMedian: median(segmentMs),
  };
}

async function childLookup(dir: string): Promise<PhaseResult> {
  const store = new BenchFileStore(join(dir, 'repo'));
  const o0 = process.hrtime.bigint();
  const repo = await Repository.open(store, { password: PASSWORD, cacheDir: join(dir, 'cache') });
  const index = await repo.index();
  const openSeconds = Number(process.hrtime.bigint() - o0) / 1e9;
  const idle = rss();

  const run = async (hitShare: number, concurrency: number, total: number): Promise<LookupRow> => {
    const r = rng(777 + Math.round(hitShare * 100) * 10 + concurrency);
    const batches = Math.ceil(total / BATCH);
    const times: number[] = [];
    let started = 0;
    let hits = 0;
    let expected = 0;
    const caller = async () => {
      while (started < batches) {
        started++;
        const ids: Uint8Array[] = [];
        for (let k = 0; k < BATCH; k++) {
          if (r() < hitShare) {
            ids.push(makeId(1, Math.floor(r() * ENTRIES)));
            expected++;
          } else ids.push(makeId(2, Math.floor(r() * 2 ** 40)));
        }
        const b0 = process.hrtime.bigint();
        const found = await index.lookup(ids);
        times.push(Number(process.hrtime.bigint() - b0) / 1e6);
        for (const f of found) if (f) hits++;
        if (TRACE && times.length % 1000 === 0)
          traceMemory(`lookup ${hitShare * 100}% x${concurrency} batch ${times.length}`);
      }
    };
    const t0 = process.hrtime.bigint();
    await Promise.all(Array.from({ length: concurrency }, caller));
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    if (hits !== expected) throw new Error(`lookup: ${hits} hits, expected ${expected}`);
    times.sort((a, b) => a - b);
    return {
      mix: `${Math.round(hitShare * 100)}% hits`,
      concurrency,
      lookups: batches * BATCH,
      lookupsPerSecond: (batches * BATCH) / seconds,
      batchMsMedian: median(times),
      batchMsP99: times[Math.min(times.length - 1, Math.floor(times.length * 0.99))]!,
    };
  };

  const t0 = process.hrtime.bigint();
  await run(0.5, 1, Math.min(LOOKUPS, 100_000)); // warm-up: open LevelDB's tables, as a running backup has
  const rows: LookupRow[] = [];
  for (const share of [1, 0.5, 0]) for (const c of [1, 2]) rows.push(await run(share, c, LOOKUPS));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  await repo.close();
  return { phase: 'lookup', seconds, idleRssBytes: idle, peakRssBytes: maxRss(), openSeconds, rows };
}

async function childRebuild(dir: string): Promise<PhaseResult> {
  const store = new BenchFileStore(join(dir, 'repo'));
  await rm(join(dir, 'cache'), { recursive: true, force: true });
  const repo = await Repository.open(store, { password: PASSWORD, cacheDir: join(dir, 'cache') });
  const idle = rss();
  const t0 = process.hrtime.bigint();
  await repo.index();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  await repo.close();
  return {
    phase: 'rebuild',
    seconds,
    idleRssBytes: idle,
    peakRssBytes: maxRss(),
    entriesPerSecond: ENTRIES / seconds,
  };
}

const phaseArg = process.argv.indexOf('--phase');
if (phaseArg >= 0) {
  const name = process.argv[phaseArg + 1];
  const dir = process.argv[phaseArg + 2]!;
  const fn = { fill: childFill, lookup: childLookup, rebuild: childRebuild }[name as 'fill'];
  if (!fn) throw new Error(`unknown phase ${name}`);
  const result = await fn(dir);
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else {
  await orchestrate();
}

// ---- orchestration ---------------------------------------------------------------------------------

/** Runs one phase as a child process, sampling its memory from here (the parent is idle meanwhile). */
async function runPhase(name: string, dir: string): Promise<PhaseResult & { memory: RssPeaks }> {
  const self = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, [...process.execArgv, self, '--phase', name, dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const sampler = sampleRss(child.pid!, 25);
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const memory = sampler.stop();
  if (code !== 0) throw new Error(`phase ${name} failed (exit code ${code})`);
  const result = JSON.parse(out.trim().split('\n').pop()!) as PhaseResult;
  return { ...result, memory };
}

async function orchestrate(): Promise<void> {
  const work = process.env.BENCH_INDEX_DIR ?? (await mkdtemp(join(tmpdir(), 'cairn-index-bench-')));
  console.log(
    `cairn index benchmark: ${ENTRIES.toLocaleString('en')} entries, segments of ${PER_SEGMENT.toLocaleString('en')}, ` +
      `lookups in batches of ${BATCH}, node ${process.version}, work dir ${work}`,
  );
  type Ran = PhaseResult & { memory: RssPeaks };
  const say = (p: Ran) =>
    console.log(
      `  ${p.phase}: ${p.seconds.toFixed(2)} s, idle RSS ${mib(p.idleRssBytes)} MiB, peak RSS ${mib(p.peakRssBytes)} MiB ` +
        `(anonymous ${mib(p.memory.anonBytes)}, file-backed ${mib(p.memory.fileBytes)})`,
    );
  const fill = await runPhase('fill', work);
  say(fill);
  const segmentBytes = diskUsage(join(work, 'repo', 'index'));
  const cacheBytesAfterFill = diskUsage(join(work, 'cache'));
  const lookup = await runPhase('lookup', work);
  say(lookup);
  const rebuild = await runPhase('rebuild', work);
  say(rebuild);
  const cacheBytes = diskUsage(join(work, 'cache'));
  const rows = lookup.rows as LookupRow[];
  const mem = (p: Ran) => [mib(p.idleRssBytes), mib(p.peakRssBytes), mib(p.memory.anonBytes), mib(p.memory.fileBytes)];

  console.log('');
  printTable([
    ['phase', 'seconds', 'rate', 'batch ms (median / p99)', 'idle RSS', 'peak RSS', 'peak anon', 'peak file'],
    [
      `fill: ${fill.segments} segments via addPack + savePending`,
      fill.seconds.toFixed(1),
      `${Math.round(fill.entriesPerSecond as number).toLocaleString('en')} entries/s`,
      `${(fill.segmentMsMedian as number).toFixed(0)} ms/segment`,
      ...mem(fill),
    ],
    ['lookup: open (sync, nothing new)', (lookup.openSeconds as number).toFixed(2), '', '', '', '', '', ''],
    ...rows.map((r) => [
      `lookup: ${r.mix}, ${r.concurrency} caller${r.concurrency > 1 ? 's' : ''}`,
      (r.lookups / r.lookupsPerSecond).toFixed(1),
      `${Math.round(r.lookupsPerSecond).toLocaleString('en')} lookups/s`,
      `${r.batchMsMedian.toFixed(2)} / ${r.batchMsP99.toFixed(2)}`,
      '',
      '',
      '',
      '',
    ]),
    ['lookup process (all mixes)', lookup.seconds.toFixed(1), '', '', ...mem(lookup)],
    [
      'rebuild: cache deleted, full sync',
      rebuild.seconds.toFixed(1),
      `${Math.round(rebuild.entriesPerSecond as number).toLocaleString('en')} entries/s`,
      '',
      ...mem(rebuild),
    ],
  ]);
  console.log("(memory columns in MiB; peak RSS = VmHWM, includes file-backed pages such as LevelDB's mmap'd tables;");
  console.log(' anon/file peaks sampled every 25 ms from the parent)');
  console.log('');
  console.log(
    `repository index segments: ${mib(segmentBytes)} MiB; LevelDB cache: ${mib(cacheBytesAfterFill)} MiB after fill, ` +
      `${mib(cacheBytes)} MiB after rebuild (${(cacheBytes / ENTRIES).toFixed(0)} bytes/entry)`,
  );
  const mixed = rows.find((r) => r.mix === '50% hits' && r.concurrency === 1)!;
  const peaks = { fill: fill.peakRssBytes, lookup: lookup.peakRssBytes, rebuild: rebuild.peakRssBytes };
  const anon = { fill: fill.memory.anonBytes, lookup: lookup.memory.anonBytes, rebuild: rebuild.memory.anonBytes };
  const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
  console.log(
    `target lookups >= ${LOOKUP_TARGET.toLocaleString('en')}/s (50% hits, 1 caller): ` +
      `${Math.round(mixed.lookupsPerSecond).toLocaleString('en')}/s [${verdict(mixed.lookupsPerSecond >= LOOKUP_TARGET)}]`,
  );
  for (const [k, v] of Object.entries(peaks)) {
    const a = anon[k as keyof typeof anon];
    console.log(
      `target peak RSS < 250 MiB, ${k}: VmHWM ${mib(v)} MiB [${verdict(v < RSS_TARGET)}], anonymous ${mib(a)} MiB [${verdict(a < RSS_TARGET)}]`,
    );
  }

  const file = writeResults('index', {
    machine: machineInfo(),
    entries: ENTRIES,
    perSegment: PER_SEGMENT,
    batch: BATCH,
    phases: [fill, lookup, rebuild],
    segmentBytes,
    cacheBytesAfterFill,
    cacheBytesAfterRebuild: cacheBytes,
    targets: {
      lookupsPerSecond: {
        target: LOOKUP_TARGET,
        measured: mixed.lookupsPerSecond,
        met: mixed.lookupsPerSecond >= LOOKUP_TARGET,
      },
      peakRssMiB: Object.fromEntries(
        Object.entries(peaks).map(([k, v]) => [k, { target: 250, measured: v / 1024 / 1024, met: v < RSS_TARGET }]),
      ),
      peakAnonMiB: Object.fromEntries(
        Object.entries(anon).map(([k, v]) => [k, { target: 250, measured: v / 1024 / 1024, met: v < RSS_TARGET }]),
      ),
    },
  });
  console.log(`results written to ${file}`);
  if (!process.env.BENCH_INDEX_DIR && process.env.BENCH_KEEP !== '1') await rm(work, { recursive: true, force: true });
}
