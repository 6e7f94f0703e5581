/**
 * `pnpm bench:backup`: whole-backup macro-benchmark. Generates (once, cached) a deterministic data
 * set of ≥ 1 GB (see backup/dataset.ts), then for cairn — and restic and borg when on PATH, in the
 * same run — runs each step as a child process and measures wall time, CPU time and peak memory:
 *
 *   init        each tool with its default key derivation (cairn init; restic init; borg init -e
 *               repokey): every later step pays it once
 *   first       first backup of the pristine tree
 *   changed     after ~1% of files changed, the SQL dump appended to, a few files added
 *   unchanged   the same tree again (nothing to read: change detection only)
 *   full        every file read again (cairn --kind full, restic --force, borg --files-cache=disabled)
 *   restore     the latest snapshot into an empty directory (a sample of files is then verified
 *               by SHA-256 against the source, outside the timing)
 *   open        a listing command (cairn/restic snapshots, borg list): the fixed cost of opening
 *               a repository (key derivation, index load) that every step above also pays
 *   verify      read, decrypt and re-hash everything stored (cairn verify --read-data, restic
 *               check --read-data, borg check --verify-data); MB/s over the repository's bytes
 *
 * MB/s = source bytes (MiB) / wall seconds. Peak RSS is VmHWM of the child (sampled every 20 ms;
 * it includes file-backed mapped pages), "anon" its anonymous memory. Tools run one after another,
 * never at once; with several runs the order rotates and medians are reported. Every step starts
 * with dirty pages flushed, every backup with the data set in the page cache (borg drops what it
 * reads from it).
 *
 * Environment: BENCH_BACKUP_GIB (data set size, default 1.2), BENCH_BACKUP_RUNS (default 1),
 * BENCH_BACKUP_TOOLS (default cairn,restic,borg — those found), BENCH_BACKUP_CACHE (where the data
 * set is kept between runs, default $TMPDIR/cairn-bench), BENCH_BACKUP_PROFILE=1 (write V8 CPU
 * profiles of cairn's backups and restore and print the top functions), BENCH_KEEP=1 (keep
 * repositories), BENCH_CAIRN_BIN (run another cairn CLI), BENCH_SNAPSHOT=0 (use the workspace build
 * in place instead of a private copy; see `snapshotBuild`). `--report FILE` re-prints the tables of
 * a saved results file. Documented with measured figures in docs/benchmarks.md.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { currentBytes, type Dataset, ensureDataset, mutate, prng, revert, sha256File } from './backup/dataset.js';
import { warmPageCache } from './backup/page-cache.js';
import { printProfiles, summarizeProfiles, type ThreadProfile } from './backup/profile-summary.js';
import {
  type BackupStep,
  BorgTool,
  CairnTool,
  type Measured,
  ResticTool,
  removeDir,
  repoBytes,
  type StepResult,
  snapshotBuild,
  type Tool,
} from './backup/tools.js';
import { median, writeResults } from './harness.js';
import { MiB, machineInfo, mib, printTable } from './lib/proc.js';

const GIB = Number(process.env.BENCH_BACKUP_GIB ?? 1.2);
const RUNS = Number(process.env.BENCH_BACKUP_RUNS ?? 1);
const WANTED = (process.env.BENCH_BACKUP_TOOLS ?? 'cairn,restic,borg').split(',').filter(Boolean);
const CACHE = process.env.BENCH_BACKUP_CACHE ?? join(tmpdir(), 'cairn-bench');
const PROFILE = process.env.BENCH_BACKUP_PROFILE === '1';
const KEEP = process.env.BENCH_KEEP === '1';

export const STEPS = ['init', 'first', 'changed', 'unchanged', 'full', 'restore', 'open', 'verify'] as const;
export type Step = (typeof STEPS)[number];

export interface StepRecord {
  wallMs: number;
  mbPerS?: number;
  sourceBytes?: number;
  cpuSeconds: number;
  peakRssBytes: number;
  peakAnonBytes: number;
  reportedAdded?: number;
  repoBytesAfter?: number;
  repoGrowth?: number;
}

export interface ToolRun {
  tool: string;
  version: string;
  run: number;
  steps: Partial<Record<Step, StepRecord>>;
  verified: { files: number; mismatches: string[] };
  loadavg: number[];
}

function record(m: Measured | StepResult, sourceBytes?: number): StepRecord {
  return {
    wallMs: m.wallMs,
    ...(sourceBytes !== undefined ? { sourceBytes, mbPerS: sourceBytes / MiB / (m.wallMs / 1000) } : {}),
    cpuSeconds: m.cpuSeconds,
    peakRssBytes: m.peakRssBytes,
    peakAnonBytes: m.peakAnonBytes,
    ...('reportedAdded' in m && m.reportedAdded !== undefined ? { reportedAdded: m.reportedAdded } : {}),
  };
}

/** Files compared after a restore: every changed/added file, the dump, and 200 others (seeded). */
async function verifyRestore(ds: Dataset, target: string, run: number): Promise<ToolRun['verified']> {
  const r = prng(99 + run);
  const paths = new Set<string>(['db/emr-dump.sql']);
  const mutation: { modified: string[]; added: { path: string }[] } = existsSync(join(ds.root, 'mutation.json'))
    ? JSON.parse(await readFile(join(ds.root, 'mutation.json'), 'utf8'))
    : { modified: [], added: [] };
  for (const p of mutation.modified) paths.add(p);
  for (const f of mutation.added) paths.add(f.path);
  while (paths.size < mutation.modified.length + mutation.added.length + 201) {
    paths.add(ds.manifest.files[Math.floor(r() * ds.manifest.files.length)]!.path);
  }
  const mismatches: string[] = [];
  for (const p of paths) {
    const a = await sha256File(join(ds.data, p));
    const b = await sha256File(join(target, ds.data, p)).catch(() => 'missing');
    if (a !== b) mismatches.push(p);
  }
  return { files: paths.size, mismatches };
}

/** One tool through every step; leaves the data set pristine. */
async function runTool(tool: Tool, ds: Dataset, run: number, log: (s: string) => void): Promise<ToolRun> {
  await revert(ds);
  await removeDir(tool.dir);
  const steps: ToolRun['steps'] = {};
  const pristine = ds.manifest.totalBytes;
  const say = (step: Step) => {
    const s = steps[step]!;
    log(
      `    ${tool.name} ${step.padEnd(9)} ${(s.wallMs / 1000).toFixed(2).padStart(7)} s` +
        `${s.mbPerS !== undefined ? ` ${s.mbPerS.toFixed(0).padStart(5)} MB/s` : '           '}` +
        `  cpu ${s.cpuSeconds.toFixed(1).padStart(5)} s  peak RSS ${mib(s.peakRssBytes).padStart(7)} MiB` +
        `${s.repoBytesAfter !== undefined ? `  repo ${mib(s.repoBytesAfter)} MiB` : ''}`,
    );
  };
  let lastRepo = 0;
  const withRepo = (s: StepRecord) => {
    const now = repoBytes(tool);
    s.repoBytesAfter = now;
    s.repoGrowth = now - lastRepo;
    lastRepo = now;
    return s;
  };
  steps.init = withRepo(record(await tool.init()));
  say('init');
  // Each step starts with what it reads in the page cache (see backup/page-cache.ts).
  const backup = async (step: BackupStep, bytes: number) => {
    await warmPageCache(ds.data);
    steps[step] = withRepo(record(await tool.backup(ds.data, step), bytes));
    say(step);
  };
  await backup('first', pristine);
  await mutate(ds);
  const changedBytes = await currentBytes(ds);
  await backup('changed', changedBytes);
  await backup('unchanged', changedBytes);
  await backup('full', changedBytes);
  const target = join(tool.dir, 'restore');
  await removeDir(target);
  steps.restore = record(await tool.restore(target), changedBytes);
  say('restore');
  const verified = await verifyRestore(ds, target, run);
  log(
    `    ${tool.name} restore verified: ${verified.files} files, ${verified.mismatches.length === 0 ? 'all identical' : `MISMATCHES: ${verified.mismatches.slice(0, 5).join(', ')}`}`,
  );
  steps.open = record(await tool.list());
  say('open');
  // Its rate is over the repository's bytes (what a check reads), not the source's.
  steps.verify = record(await tool.verify(), repoBytes(tool));
  say('verify');
  await revert(ds);
  return { tool: tool.name, version: tool.version, run, steps, verified, loadavg: loadavg() };
}

// ---- aggregation and report ---------------------------------------------------------------------------

export type Summary = Record<string, Partial<Record<Step, StepRecord>>>;

/** Median of every numeric field of each step over runs, per tool. */
export function summarize(runs: ToolRun[]): Summary {
  const out: Summary = {};
  for (const tool of [...new Set(runs.map((r) => r.tool))]) {
    const mine = runs.filter((r) => r.tool === tool);
    out[tool] = {};
    for (const step of STEPS) {
      const recs = mine.map((r) => r.steps[step]).filter((s): s is StepRecord => !!s);
      if (recs.length === 0) continue;
      const m: Record<string, number> = {};
      for (const k of Object.keys(recs[0]!) as (keyof StepRecord)[]) {
        const vals = recs.map((r) => r[k]).filter((v): v is number => typeof v === 'number');
        if (vals.length) m[k] = median(vals);
      }
      out[tool]![step] = m as unknown as StepRecord;
    }
  }
  return out;
}

function stepTable(summary: Summary, runs: ToolRun[]): void {
  const rows: (string | number)[][] = [
    ['step', 'tool', 'wall s', '(min-max)', 'MB/s', 'CPU s', 'peak RSS MiB', 'anon MiB', 'added MiB', 'repo MiB'],
  ];
  for (const step of STEPS) {
    for (const [tool, steps] of Object.entries(summary)) {
      const s = steps[step];
      if (!s) continue;
      const walls = runs.filter((r) => r.tool === tool && r.steps[step]).map((r) => r.steps[step]!.wallMs / 1000);
      rows.push([
        step,
        tool,
        (s.wallMs / 1000).toFixed(2),
        walls.length > 1 ? `${Math.min(...walls).toFixed(2)}-${Math.max(...walls).toFixed(2)}` : '',
        s.mbPerS !== undefined ? s.mbPerS.toFixed(0) : '',
        s.cpuSeconds.toFixed(1),
        mib(s.peakRssBytes),
        mib(s.peakAnonBytes),
        s.reportedAdded !== undefined ? mib(s.reportedAdded) : '',
        s.repoBytesAfter !== undefined ? mib(s.repoBytesAfter) : '',
      ]);
    }
  }
  printTable(rows);
}

interface Target {
  what: string;
  ratio: number;
  goal: string;
  met: boolean;
}

/** Ratios of cairn against `other`, and the targets they are held to (for restic). */
function ratios(summary: Summary, other: string): Target[] {
  const c = summary.cairn;
  const o = summary[other];
  if (!c || !o) return [];
  const out: Target[] = [];
  const speed = (step: Step) => o[step]!.wallMs / c[step]!.wallMs;
  const time = (step: Step) => c[step]!.wallMs / o[step]!.wallMs;
  const peak = (s: Partial<Record<Step, StepRecord>>, f: 'peakRssBytes' | 'peakAnonBytes') =>
    Math.max(...(['first', 'changed', 'unchanged', 'full', 'restore'] as Step[]).map((k) => s[k]?.[f] ?? 0));
  out.push({ what: 'first backup speed (x faster)', ratio: speed('first'), goal: '>= 2', met: speed('first') >= 2 });
  out.push({ what: 'changed backup time (cairn/other)', ratio: time('changed'), goal: '', met: true });
  out.push({
    what: 'unchanged backup time (cairn/other)',
    ratio: time('unchanged'),
    goal: '<= 0.5',
    met: time('unchanged') <= 0.5,
  });
  out.push({ what: 'full re-read speed (x faster)', ratio: speed('full'), goal: '', met: true });
  out.push({ what: 'restore speed (x faster)', ratio: speed('restore'), goal: '>= 2', met: speed('restore') >= 2 });
  out.push({ what: 'open (listing) time (cairn/other)', ratio: time('open'), goal: '', met: true });
  // Every step also pays the tool's fixed cost of a command (start, key derivation, index load),
  // which `open` measures: restic's key derivation alone is calibrated to ~0.5 s. The same targets
  // over each step's time beyond it show how much of a ratio is that fixed cost.
  const net = (s: Partial<Record<Step, StepRecord>>, step: Step) => Math.max(1, s[step]!.wallMs - s.open!.wallMs);
  const netSpeed = (step: Step) => net(o, step) / net(c, step);
  const netTime = (step: Step) => net(c, step) / net(o, step);
  out.push({
    what: 'first backup speed, beyond open (x faster)',
    ratio: netSpeed('first'),
    goal: '>= 2',
    met: netSpeed('first') >= 2,
  });
  out.push({
    what: 'unchanged backup time, beyond open',
    ratio: netTime('unchanged'),
    goal: '<= 0.5',
    met: netTime('unchanged') <= 0.5,
  });
  out.push({
    what: 'restore speed, beyond open (x faster)',
    ratio: netSpeed('restore'),
    goal: '>= 2',
    met: netSpeed('restore') >= 2,
  });
  // Repositories differ a little in size: compare bytes checked per second.
  const check = c.verify!.mbPerS! / o.verify!.mbPerS!;
  out.push({ what: 'verify --read-data speed, repo MB/s (x faster)', ratio: check, goal: '>= 2', met: check >= 2 });
  const rssRatio = peak(c, 'peakRssBytes') / peak(o, 'peakRssBytes');
  out.push({ what: 'peak RSS, max over steps (cairn/other)', ratio: rssRatio, goal: '<= 1', met: rssRatio <= 1 });
  const anonRatio = peak(c, 'peakAnonBytes') / peak(o, 'peakAnonBytes');
  out.push({ what: 'peak anon memory, max over steps', ratio: anonRatio, goal: '', met: true });
  // CPU seconds are far less sensitive to neighbours on a shared machine than wall time.
  for (const step of ['first', 'unchanged', 'full', 'restore'] as Step[]) {
    out.push({
      what: `${step} CPU seconds (cairn/other)`,
      ratio: c[step]!.cpuSeconds / o[step]!.cpuSeconds,
      goal: '',
      met: true,
    });
  }
  const repoFirst = c.first!.repoBytesAfter! / o.first!.repoBytesAfter!;
  out.push({
    what: 'repository size after first (cairn/other)',
    ratio: repoFirst,
    goal: '<= 1.3',
    met: repoFirst <= 1.3,
  });
  const repoEnd = c.full!.repoBytesAfter! / o.full!.repoBytesAfter!;
  out.push({ what: 'repository size at end (cairn/other)', ratio: repoEnd, goal: '<= 1.3', met: repoEnd <= 1.3 });
  const growth = c.changed!.repoGrowth! / Math.max(1, o.changed!.repoGrowth!);
  out.push({ what: 'repo growth by changed backup (cairn/other)', ratio: growth, goal: '', met: true });
  return out;
}

/** Prints the step table and the ratios for a set of runs; returns what it printed. */
function report(runs: ToolRun[]): { summary: Summary; comparisons: Record<string, Target[]> } {
  const summary = summarize(runs);
  const n = Math.max(...Object.keys(summary).map((t) => runs.filter((r) => r.tool === t).length));
  console.log(`\nmedians over ${n} run(s); MB/s = source MiB / wall s; peak RSS = VmHWM, anon = RssAnon`);
  stepTable(summary, runs);
  const comparisons: Record<string, Target[]> = {};
  for (const other of Object.keys(summary).filter((t) => t !== 'cairn')) {
    const rs = ratios(summary, other);
    comparisons[other] = rs;
    console.log(`\ncairn vs ${other}:`);
    printTable([
      ['ratio', 'value', 'target', ''],
      ...rs.map((r) => [
        r.what,
        r.ratio.toFixed(2),
        other === 'restic' ? r.goal : '',
        other === 'restic' && r.goal ? (r.met ? 'met' : 'MISSED') : '',
      ]),
    ]);
  }
  return { summary, comparisons };
}

async function main(): Promise<void> {
  const log = (s: string) => console.log(s);
  await mkdir(CACHE, { recursive: true });
  const target = Math.round(GIB * 1024 * MiB);
  console.log(`cairn whole-backup benchmark: ${GIB} GiB data set, ${RUNS} run(s), node ${process.version}`);
  const ds = await ensureDataset(CACHE, target, log);
  const kinds = new Map<string, { n: number; bytes: number }>();
  for (const f of ds.manifest.files) {
    const k = f.copyOf ? 'copy' : f.kind;
    const e = kinds.get(k) ?? { n: 0, bytes: 0 };
    e.n++;
    e.bytes += f.size;
    kinds.set(k, e);
  }
  console.log(
    `data set: ${ds.data}: ${ds.manifest.files.length} files, ${mib(ds.manifest.totalBytes)} MiB ` +
      `(${[...kinds.entries()].map(([k, v]) => `${k} ${v.n}/${mib(v.bytes)} MiB`).join(', ')})`,
  );

  const work = join(CACHE, 'work');
  const build =
    process.env.BENCH_CAIRN_BIN || process.env.BENCH_SNAPSHOT === '0'
      ? undefined
      : await snapshotBuild(join(work, 'build'));
  if (build)
    console.log(
      `cairn build: ${build.commit}${build.dirtyCoreFiles ? ` + ${build.dirtyCoreFiles} uncommitted package files` : ''}, core built ${build.coreBuiltAt} (copied to ${build.copiedTo})`,
    );
  // Each run of each tool gets directories of its own, all removed at the end, and the leftovers
  // of an interrupted benchmark are moved aside now and removed at the end too. Deleting a restored
  // tree slows file creation for minutes after it: ext4 without a journal (this machine) skips
  // inodes freed in the last 60-300 s one by one when it allocates a new one (2026-11-22: a
  // restore right after a 17 000-file delete took 2.48 s at 2.21 s system time, against
  // 1.18-1.24 s at 0.41-0.47 s), and online `discard` makes the deletes themselves slow.
  const runsDir = join(work, 'runs');
  const leftovers = existsSync(runsDir) ? `${runsDir}.old-${process.pid}` : undefined;
  if (leftovers) await rename(runsDir, leftovers);
  const makers: ((dir: string) => Tool)[] = [];
  if (WANTED.includes('cairn')) {
    makers.push((dir) => new CairnTool(dir, PROFILE ? { profileDir: join(work, 'profiles') } : {}));
  }
  if (WANTED.includes('restic')) {
    if (ResticTool.find(runsDir)) makers.push((dir) => ResticTool.find(dir)!);
    else console.log('restic: not on PATH, skipped');
  }
  if (WANTED.includes('borg')) {
    if (BorgTool.find(runsDir)) makers.push((dir) => BorgTool.find(dir)!);
    else console.log('borg: not on PATH, skipped');
  }
  const candidates = makers.map((make) => make(runsDir));
  console.log(`tools: ${candidates.map((t) => `${t.name} (${t.version})`).join(', ')}`);
  if (PROFILE) await removeDir(join(work, 'profiles'));

  const runs: ToolRun[] = [];
  for (let run = 1; run <= RUNS; run++) {
    // Rotate the order so no tool always runs first (page cache, thermal and neighbour noise).
    const order = makers.map((_, i) => (i + run - 1) % makers.length);
    for (const k of order) {
      const tool = makers[k]!(join(runsDir, `${candidates[k]!.name}-${run}`));
      console.log(
        `  run ${run}/${RUNS}: ${tool.name} (load average ${loadavg()
          .map((x) => x.toFixed(2))
          .join(' ')})`,
      );
      runs.push(await runTool(tool, ds, run, log));
    }
  }

  if (!KEEP) await removeDir(runsDir);
  if (leftovers) await removeDir(leftovers);
  const { summary, comparisons } = report(runs);

  let profiles: Record<string, ThreadProfile[]> | undefined;
  if (PROFILE) {
    profiles = {};
    for (const step of ['first', 'changed', 'unchanged', 'full', 'restore']) {
      const dir = join(work, 'profiles', step);
      if (!existsSync(dir)) continue;
      profiles[step] = summarizeProfiles(dir, 20);
      console.log(`\ncairn CPU profile, ${step} (self time by function; last run):`);
      printProfiles(profiles[step]!);
    }
  }

  const file = writeResults('backup', {
    machine: machineInfo(),
    gib: GIB,
    dataset: {
      root: ds.root,
      files: ds.manifest.files.length,
      bytes: ds.manifest.totalBytes,
      kinds: Object.fromEntries(kinds),
    },
    tools: candidates.map((t) => ({ name: t.name, version: t.version })),
    ...(build ? { build } : {}),
    runs,
    summary,
    comparisons,
    ...(profiles ? { profiles } : {}),
  });
  console.log(`\nresults written to ${file}`);
  const bad = runs.filter((r) => r.verified.mismatches.length > 0);
  if (bad.length) {
    console.error(`restore verification FAILED for ${bad.map((r) => `${r.tool} run ${r.run}`).join(', ')}`);
    process.exitCode = 1;
  }
}

const reportArg = process.argv.indexOf('--report');
if (reportArg >= 0) {
  // Re-print the tables of a saved result: `bench:backup --report results/backup-….json`.
  const saved = JSON.parse(await readFile(process.argv[reportArg + 1]!, 'utf8')) as { runs: ToolRun[] };
  report(saved.runs);
} else {
  await main();
}
