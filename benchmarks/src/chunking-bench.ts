/**
 * `pnpm --filter @cairn/benchmarks bench:chunking`: measures candidate chunking parameters on the
 * whole-backup data set (backup/dataset.ts) and its changed version, to choose the repository
 * default (docs/chunking.md). For each candidate average (min = avg/4, max = avg*4) a fresh
 * repository is made with `cairn init --chunk-min/--chunk-avg/--chunk-max`, then:
 *
 *   first backup      wall time, MB/s, peak RSS; `cairn stats --json`: data blobs (= index entries),
 *                     unique raw bytes, pack bytes
 *   changed backup    after the same mutation the backup benchmark applies: raw bytes added (what
 *                     dedup failed to find), repository growth, new index entries
 *
 * and the index extrapolated to 10 TB of unique data at the measured bytes per blob: entries,
 * LevelDB cache size (bytes/entry measured by bench:index, default 95), segment bytes (52/entry)
 * and the time to rebuild the cache at the measured rate (default 400k entries/s).
 *
 * Environment: BENCH_CHUNK_AVGS (KiB, comma separated; default 64,256,512,1024,2048),
 * BENCH_CHUNK_RUNS (default 1; medians when more), BENCH_BACKUP_GIB / BENCH_BACKUP_CACHE as for
 * bench:backup (the same cached data set), BENCH_INDEX_BYTES_PER_ENTRY, BENCH_INDEX_REBUILD_RATE.
 */
import { readFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDataset, type Mutation, mutate, revert } from './backup/dataset.js';
import { CairnTool, removeDir, repoBytes, snapshotBuild } from './backup/tools.js';
import { median, writeResults } from './harness.js';
import { diskUsage, MiB, machineInfo, mib, printTable } from './lib/proc.js';

const KiB = 1024;
const GIB = Number(process.env.BENCH_BACKUP_GIB ?? 1.2);
const CACHE = process.env.BENCH_BACKUP_CACHE ?? join(tmpdir(), 'cairn-bench');
const AVGS = (process.env.BENCH_CHUNK_AVGS ?? '64,256,512,1024,2048').split(',').map((s) => Number(s) * KiB);
const RUNS = Number(process.env.BENCH_CHUNK_RUNS ?? 1);
const CACHE_BYTES_PER_ENTRY = Number(process.env.BENCH_INDEX_BYTES_PER_ENTRY ?? 95);
const SEGMENT_BYTES_PER_ENTRY = 52;
const REBUILD_RATE = Number(process.env.BENCH_INDEX_REBUILD_RATE ?? 400_000);
const TEN_TB = 10 * 1e12;

interface Row {
  avg: number;
  run: number;
  firstWallMs: number;
  firstMbPerS: number;
  firstCpuSeconds: number;
  firstPeakRssBytes: number;
  dataBlobs: number;
  treeBlobs: number;
  uniqueBytes: number;
  packBytes: number;
  repoBytesFirst: number;
  cacheBytes: number;
  changedWallMs: number;
  changedAddedRaw: number;
  changedRepoGrowth: number;
  changedNewBlobs: number;
  repoBytesEnd: number;
}

const label = (b: number) => (b >= MiB ? `${b / MiB}M` : `${b / KiB}K`);

async function main(): Promise<void> {
  const log = (s: string) => console.log(s);
  const ds = await ensureDataset(CACHE, Math.round(GIB * 1024 * MiB), log);
  const source = ds.manifest.totalBytes;
  console.log(
    `cairn chunking-parameter sweep: ${mib(source)} MiB data set, averages ${AVGS.map(label).join(', ')} ` +
      `(min = avg/4, max = avg*4), ${RUNS} run(s), node ${process.version}`,
  );
  const build =
    process.env.BENCH_CAIRN_BIN || process.env.BENCH_SNAPSHOT === '0'
      ? undefined
      : await snapshotBuild(join(CACHE, 'work', 'build'));
  if (build) console.log(`cairn build: ${build.commit}, core built ${build.coreBuiltAt} (copied to ${build.copiedTo})`);
  const rows: Row[] = [];
  let mutation: Mutation | undefined;
  for (let run = 1; run <= RUNS; run++) {
    for (const avg of AVGS) {
      const chunk = { min: avg / 4, avg, max: avg * 4 };
      const dir = join(CACHE, 'work', `chunk-${label(avg)}`);
      await revert(ds);
      await removeDir(dir);
      const cairn = new CairnTool(dir, { chunk, kdfWork: 16384 });
      await cairn.init();
      console.log(
        `  run ${run}, avg ${label(avg)} (load average ${loadavg()
          .map((x) => x.toFixed(2))
          .join(' ')})`,
      );
      const first = await cairn.backup(ds.data, 'first');
      const s1 = (await cairn.stats()) as Record<string, number>;
      const repoFirst = repoBytes(cairn);
      const cacheBytes = diskUsage(cairn.cache);
      mutation = await mutate(ds);
      const changed = await cairn.backup(ds.data, 'changed');
      const s2 = (await cairn.stats()) as Record<string, number>;
      const repoEnd = repoBytes(cairn);
      const row: Row = {
        avg,
        run,
        firstWallMs: first.wallMs,
        firstMbPerS: source / MiB / (first.wallMs / 1000),
        firstCpuSeconds: first.cpuSeconds,
        firstPeakRssBytes: first.peakRssBytes,
        dataBlobs: s1.dataBlobs!,
        treeBlobs: s1.treeBlobs!,
        uniqueBytes: s1.uniqueBytes!,
        packBytes: s1.packBytes!,
        repoBytesFirst: repoFirst,
        cacheBytes,
        changedWallMs: changed.wallMs,
        changedAddedRaw: changed.reportedAdded ?? Number.NaN,
        changedRepoGrowth: repoEnd - repoFirst,
        changedNewBlobs: s2.dataBlobs! - s1.dataBlobs!,
        repoBytesEnd: repoEnd,
      };
      rows.push(row);
      console.log(
        `    first ${(row.firstWallMs / 1000).toFixed(1)} s ${row.firstMbPerS.toFixed(0)} MB/s, ${row.dataBlobs} data blobs, ` +
          `repo ${mib(repoFirst)} MiB; changed: added ${mib(row.changedAddedRaw)} MiB raw, repo +${mib(row.changedRepoGrowth)} MiB, ` +
          `+${row.changedNewBlobs} blobs`,
      );
      await revert(ds);
      if (process.env.BENCH_KEEP !== '1') await removeDir(dir);
    }
  }

  // What actually changed: appended rows, added files, rewritten small files, inserted lines, overwrites.
  const changedEstimate = await estimateChanged(ds.root, mutation!);
  const med = (avg: number, f: (r: Row) => number) => median(rows.filter((r) => r.avg === avg).map(f));
  console.log(
    `\nmedians over ${RUNS} run(s). Changed tree: ~${mib(changedEstimate)} MiB of bytes really new or rewritten ` +
      `(append to the dump, new files, rewritten small files, inserted lines, 16 KiB overwrites).`,
  );
  const table: (string | number)[][] = [
    [
      'avg (min/max)',
      'first MB/s',
      'CPU s',
      'peak RSS',
      'data blobs',
      'mean chunk*',
      'repo MiB',
      'changed: added MiB',
      'x really new',
      'repo +MiB',
      'entries/TB*',
      'cache@10TB*',
      'segments@10TB*',
      'rebuild@10TB*',
    ],
  ];
  const summary: Record<string, Record<string, number>> = {};
  for (const avg of AVGS) {
    const blobs = med(avg, (r) => r.dataBlobs);
    const unique = med(avg, (r) => r.uniqueBytes);
    // Files below `min` are one blob each whatever the parameters: count them apart, so the
    // extrapolation is about chunked data (the bulk of a large repository), not this set's file count.
    const small = ds.manifest.files.filter((f) => !f.copyOf && f.size < avg / 4);
    const smallBytes = small.reduce((n, f) => n + f.size, 0);
    const meanChunk = (unique - smallBytes) / Math.max(1, blobs - small.length);
    const entries10 = TEN_TB / meanChunk;
    const added = med(avg, (r) => r.changedAddedRaw);
    const s = {
      firstMbPerS: med(avg, (r) => r.firstMbPerS),
      firstCpuSeconds: med(avg, (r) => r.firstCpuSeconds),
      firstPeakRssBytes: med(avg, (r) => r.firstPeakRssBytes),
      dataBlobs: blobs,
      smallFileBlobs: small.length,
      meanChunkBytes: meanChunk,
      repoBytesFirst: med(avg, (r) => r.repoBytesFirst),
      cacheBytes: med(avg, (r) => r.cacheBytes),
      changedAddedRaw: added,
      amplification: added / changedEstimate,
      changedRepoGrowth: med(avg, (r) => r.changedRepoGrowth),
      changedNewBlobs: med(avg, (r) => r.changedNewBlobs),
      entriesPerTB: 1e12 / meanChunk,
      entriesAt10TB: entries10,
      cacheBytesAt10TB: entries10 * CACHE_BYTES_PER_ENTRY,
      segmentBytesAt10TB: entries10 * SEGMENT_BYTES_PER_ENTRY,
      rebuildSecondsAt10TB: entries10 / REBUILD_RATE,
    };
    summary[label(avg)] = s;
    table.push([
      `${label(avg)} (${label(avg / 4)}/${label(avg * 4)})`,
      s.firstMbPerS.toFixed(0),
      s.firstCpuSeconds.toFixed(1),
      mib(s.firstPeakRssBytes),
      blobs,
      `${(meanChunk / KiB).toFixed(0)} KiB`,
      mib(s.repoBytesFirst),
      mib(added),
      s.amplification.toFixed(1),
      mib(s.changedRepoGrowth),
      `${(s.entriesPerTB / 1e6).toFixed(2)} M`,
      `${(s.cacheBytesAt10TB / 1e9).toFixed(1)} GB`,
      `${(s.segmentBytesAt10TB / 1e9).toFixed(1)} GB`,
      `${(s.rebuildSecondsAt10TB / 60).toFixed(1)} min`,
    ]);
  }
  printTable(table);
  console.log(
    `* chunked data only: files smaller than min are one blob each whatever the parameters (add one index entry per such ` +
      `file). mean chunk = (unique bytes - bytes of those files) / (data blobs - their number); @10TB = 10 TB of chunked ` +
      `unique data; cache at ${CACHE_BYTES_PER_ENTRY} B/entry and rebuild at ${REBUILD_RATE.toLocaleString('en')} entries/s ` +
      `(bench:index); segments at ${SEGMENT_BYTES_PER_ENTRY} B/entry`,
  );
  const file = writeResults('chunking', {
    machine: machineInfo(),
    gib: GIB,
    sourceBytes: source,
    changedEstimate,
    ...(build ? { build } : {}),
    rows,
    summary,
  });
  console.log(`results written to ${file}`);
}

/** Bytes the mutation really made new (a lower bound for any chunker). */
async function estimateChanged(root: string, m: Mutation): Promise<number> {
  const manifest = JSON.parse(await readFile(join(root, 'manifest.json'), 'utf8')) as {
    files: { path: string; kind: string; size: number }[];
  };
  const byPath = new Map(manifest.files.map((f) => [f.path, f]));
  let n = m.appendedBytes + m.added.reduce((s, f) => s + f.size, 0);
  for (const p of m.modified) {
    const f = byPath.get(p)!;
    if (f.kind === 'binary') n += 3 * 16 * KiB;
    else if (f.size < 16 * KiB) n += f.size;
    else n += 200; // one inserted line
  }
  return n;
}

await main();
