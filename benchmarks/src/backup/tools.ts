/**
 * The backup programs a whole-backup benchmark drives, each step a child process whose wall time,
 * CPU time and memory are measured from the outside: cairn (the built CLI), and restic and borg
 * when they are on PATH. Every tool gets its own repository, cache and restore directories under
 * one work directory, and the same password; no step reads a terminal.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { diskUsage, type RssPeaks, sampleRss } from '../lib/proc.js';

export const PASSWORD = 'cairn-bench-password';
const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = join(HERE, '..', '..', '..');
/** The CLI every cairn step runs: BENCH_CAIRN_BIN, else the workspace's (see {@link snapshotBuild}). */
export let CAIRN_BIN = process.env.BENCH_CAIRN_BIN ?? join(REPO_ROOT, 'packages', 'cli', 'bin', 'cairn.js');

const BUILD_FILES = [
  'packages/core/dist/index.js',
  'packages/core/dist/content-worker.js',
  'packages/store-disk/dist/index.js',
  'packages/cli/dist/main.js',
  'packages/cli/bin/cairn.js',
];

/**
 * Copies the built CLI, core and store-disk (dist, bin, package.json, node_modules links) to
 * `dest` and makes every cairn step use that copy, so a rebuild by someone else during a long
 * benchmark cannot break it or mix two builds. Waits (up to a minute) for a complete build.
 * Returns a description of what was copied (commit, dirty files, build time).
 */
export async function snapshotBuild(dest: string): Promise<Record<string, unknown>> {
  for (let i = 0; ; i++) {
    if (BUILD_FILES.every((f) => existsSync(join(REPO_ROOT, f)))) break;
    if (i >= 60) throw new Error(`no complete build in ${REPO_ROOT}: run \`pnpm build\` first`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  await rm(dest, { recursive: true, force: true });
  await mkdir(join(dest, 'packages'), { recursive: true });
  for (const pkg of ['core', 'cli', 'store-disk']) {
    const src = join(REPO_ROOT, 'packages', pkg);
    const parts = ['package.json', 'dist', 'node_modules', 'bin'].filter((p) => existsSync(join(src, p)));
    await mkdir(join(dest, 'packages', pkg));
    execFileSync('cp', ['-a', ...parts.map((p) => join(src, p)), join(dest, 'packages', pkg)]);
  }
  execFileSync('ln', ['-s', join(REPO_ROOT, 'node_modules'), join(dest, 'node_modules')]);
  CAIRN_BIN = join(dest, 'packages', 'cli', 'bin', 'cairn.js');
  const git = (args: string[]) => {
    try {
      return execFileSync('git', ['-C', REPO_ROOT, ...args], { encoding: 'utf8' }).trim();
    } catch {
      return undefined;
    }
  };
  return {
    copiedTo: dest,
    commit: git(['rev-parse', '--short', 'HEAD']),
    dirtyCoreFiles: git(['status', '--short', '--', 'packages'])?.split('\n').filter(Boolean).length ?? 0,
    coreBuiltAt: statSync(join(REPO_ROOT, 'packages/core/dist/index.js')).mtime.toISOString(),
  };
}

export interface Measured {
  /** Wall time from spawn to exit. */
  wallMs: number;
  /** Peak resident set (VmHWM, sampled; includes file-backed mapped pages). */
  peakRssBytes: number;
  /** Peak anonymous memory (RssAnon, sampled). */
  peakAnonBytes: number;
  /** User + system CPU seconds of the process (all its threads), read from /proc just before exit. */
  cpuSeconds: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

const CLK_TCK = 100;

function cpuSecondsOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime (fields 14, 15)
  } catch {
    return undefined;
  }
}

/** Flushes dirty pages, so writeback left by the previous step is not charged to the next one. */
function flushWrites(): void {
  try {
    execFileSync('sync');
  } catch {
    // No `sync` here: the figures are only noisier.
  }
}

/** Runs a command, sampling its memory and CPU every 20 ms until it exits (dirty pages flushed first). */
export async function measure(
  cmd: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; profileDir?: string } = {},
): Promise<Measured> {
  flushWrites();
  const t0 = process.hrtime.bigint();
  const child = spawn(cmd, args, {
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid!;
  const sampler = sampleRss(pid, 20);
  let cpu = 0;
  const cpuTimer = setInterval(() => {
    cpu = cpuSecondsOf(pid) ?? cpu;
  }, 20);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    if (stdout.length > 4e6) stdout = stdout.slice(-1e6); // restic --json streams status lines
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    if (stderr.length > 1e6) stderr = stderr.slice(-1e5);
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (c) => resolve(c));
  });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  clearInterval(cpuTimer);
  const peaks: RssPeaks = sampler.stop();
  return {
    wallMs,
    peakRssBytes: peaks.hwmBytes,
    peakAnonBytes: peaks.anonBytes,
    cpuSeconds: cpu,
    code,
    stdout,
    stderr,
  };
}

function check(m: Measured, what: string, okCodes: number[] = [0]): Measured {
  if (m.code === null || !okCodes.includes(m.code)) {
    throw new Error(`${what} failed (exit ${m.code}):\n${m.stderr.slice(-4000)}\n${m.stdout.slice(-2000)}`);
  }
  return m;
}

export type BackupStep = 'first' | 'changed' | 'unchanged' | 'full';

export interface StepResult extends Measured {
  /** Bytes the tool says it added (its own accounting; see `addedWhat`). */
  reportedAdded?: number;
}

/** One backup program with its own repository under `dir`. */
export interface Tool {
  readonly name: string;
  readonly version: string;
  readonly dir: string;
  readonly repo: string;
  init(): Promise<StepResult>;
  backup(data: string, step: BackupStep): Promise<StepResult>;
  restore(target: string): Promise<StepResult>;
  /** A read-only listing (snapshots): the fixed cost of opening the repository. */
  list(): Promise<StepResult>;
  /** A full check that reads, decrypts and re-hashes every stored byte. */
  verify(): Promise<StepResult>;
  /** What `reportedAdded` counts for this tool. */
  readonly addedWhat: string;
}

function lastJsonLine(
  text: string,
  pred: (o: Record<string, unknown>) => boolean,
): Record<string, unknown> | undefined {
  const lines = text.trim().split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i]!.trim();
    if (!l.startsWith('{')) continue;
    try {
      const o = JSON.parse(l) as Record<string, unknown>;
      if (pred(o)) return o;
    } catch {}
  }
  return undefined;
}

function onPath(cmd: string): string | undefined {
  for (const d of (process.env.PATH ?? '').split(':')) {
    const p = join(d, cmd);
    if (d && existsSync(p)) return p;
  }
  return undefined;
}

// ---- cairn -------------------------------------------------------------------------------------------

export interface CairnOptions {
  chunk?: { min: number; avg: number; max: number };
  /**
   * scrypt N for the repository key (`init --kdf-work`). Default: cairn's own default, as a user
   * gets it, since restic and borg run with theirs (restic calibrates its own to ~0.5 s here) and
   * every step pays it once.
   */
  kdfWork?: number;
  /** Write V8 CPU profiles of backups here (`node --cpu-prof`, every thread). */
  profileDir?: string;
}

export class CairnTool implements Tool {
  readonly name = 'cairn';
  readonly version: string;
  readonly repo: string;
  readonly cache: string;
  readonly addedWhat = 'raw bytes of new chunks';
  constructor(
    readonly dir: string,
    private readonly options: CairnOptions = {},
  ) {
    this.repo = join(dir, 'repo');
    this.cache = join(dir, 'cache');
    this.version = execFileSync(process.execPath, [CAIRN_BIN, '--version'], { encoding: 'utf8' }).trim();
  }

  private env(): NodeJS.ProcessEnv {
    const { CAIRN_REPOSITORY: _r, CAIRN_PASSWORD_FILE: _f, CAIRN_PASSWORD_COMMAND: _c, ...rest } = process.env;
    return { ...rest, CAIRN_PASSWORD: PASSWORD };
  }

  private run(args: string[], nodeArgs: string[] = []): Promise<Measured> {
    return measure(
      process.execPath,
      [...nodeArgs, CAIRN_BIN, '--repo', this.repo, '--cache-dir', this.cache, '--no-progress', '--json', ...args],
      { env: this.env() },
    );
  }

  async init(): Promise<StepResult> {
    await mkdir(this.dir, { recursive: true });
    const c = this.options.chunk;
    const chunkArgs = c
      ? ['--chunk-min', String(c.min), '--chunk-avg', String(c.avg), '--chunk-max', String(c.max)]
      : [];
    const kdfArgs = this.options.kdfWork ? ['--kdf-work', String(this.options.kdfWork)] : [];
    return check(await this.run(['init', ...kdfArgs, ...chunkArgs]), 'cairn init');
  }

  async backup(data: string, step: BackupStep): Promise<StepResult> {
    const prof = this.options.profileDir ? ['--cpu-prof', '--cpu-prof-dir', join(this.options.profileDir, step)] : [];
    const m = check(
      await this.run(['backup', ...(step === 'full' ? ['--kind', 'full'] : []), data], prof),
      `cairn backup (${step})`,
    );
    const summary = lastJsonLine(m.stdout, (o) => o.type === 'summary') as { bytes?: { added?: number } } | undefined;
    return { ...m, ...(summary?.bytes?.added !== undefined ? { reportedAdded: summary.bytes.added } : {}) };
  }

  async restore(target: string): Promise<StepResult> {
    const prof = this.options.profileDir
      ? ['--cpu-prof', '--cpu-prof-dir', join(this.options.profileDir, 'restore')]
      : [];
    return check(await this.run(['restore', 'latest', '--target', target], prof), 'cairn restore');
  }

  async list(): Promise<StepResult> {
    return check(await this.run(['snapshots']), 'cairn snapshots');
  }

  async verify(): Promise<StepResult> {
    return check(await this.run(['verify', '--read-data']), 'cairn verify --read-data');
  }

  /** `cairn stats --json` of the repository. */
  async stats(): Promise<Record<string, unknown>> {
    const m = check(await this.run(['stats']), 'cairn stats');
    return JSON.parse(m.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  }
}

// ---- restic ------------------------------------------------------------------------------------------

export class ResticTool implements Tool {
  readonly name = 'restic';
  readonly version: string;
  readonly repo: string;
  readonly addedWhat = 'data_added (restic summary)';
  constructor(
    readonly dir: string,
    private readonly bin: string,
  ) {
    this.repo = join(dir, 'repo');
    this.version = execFileSync(bin, ['version'], { encoding: 'utf8' }).trim().split(' ').slice(0, 2).join(' ');
  }

  static find(dir: string): ResticTool | undefined {
    const bin = onPath('restic');
    return bin ? new ResticTool(dir, bin) : undefined;
  }

  private run(args: string[], cwd?: string): Promise<Measured> {
    return measure(this.bin, args, {
      env: {
        ...process.env,
        RESTIC_PASSWORD: PASSWORD,
        RESTIC_REPOSITORY: this.repo,
        RESTIC_CACHE_DIR: join(this.dir, 'cache'),
      },
      ...(cwd ? { cwd } : {}),
    });
  }

  async init(): Promise<StepResult> {
    await mkdir(this.dir, { recursive: true });
    return check(await this.run(['init']), 'restic init');
  }

  async backup(data: string, step: BackupStep): Promise<StepResult> {
    const m = check(
      await this.run(['backup', '--json', ...(step === 'full' ? ['--force'] : []), data]),
      `restic backup (${step})`,
    );
    const summary = lastJsonLine(m.stdout, (o) => o.message_type === 'summary') as { data_added?: number } | undefined;
    return { ...m, ...(summary?.data_added !== undefined ? { reportedAdded: summary.data_added } : {}) };
  }

  async restore(target: string): Promise<StepResult> {
    return check(await this.run(['restore', 'latest', '--target', target]), 'restic restore');
  }

  async list(): Promise<StepResult> {
    return check(await this.run(['snapshots', '--json']), 'restic snapshots');
  }

  async verify(): Promise<StepResult> {
    return check(await this.run(['check', '--read-data']), 'restic check --read-data');
  }
}

// ---- borg --------------------------------------------------------------------------------------------

export class BorgTool implements Tool {
  readonly name = 'borg';
  readonly version: string;
  readonly repo: string;
  readonly addedWhat = 'deduplicated_size (borg --json stats)';
  private archives = 0;
  constructor(
    readonly dir: string,
    private readonly bin: string,
  ) {
    this.repo = join(dir, 'repo');
    this.version = execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim();
  }

  static find(dir: string): BorgTool | undefined {
    const bin = onPath('borg');
    return bin ? new BorgTool(dir, bin) : undefined;
  }

  private run(args: string[], cwd?: string): Promise<Measured> {
    return measure(this.bin, args, {
      env: {
        ...process.env,
        BORG_PASSPHRASE: PASSWORD,
        BORG_BASE_DIR: join(this.dir, 'home'),
        BORG_DISPLAY_PASSPHRASE: 'no',
        BORG_RELOCATED_REPO_ACCESS_IS_OK: 'yes',
        BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK: 'yes',
      },
      ...(cwd ? { cwd } : {}),
    });
  }

  async init(): Promise<StepResult> {
    await mkdir(this.dir, { recursive: true });
    this.archives = 0;
    return check(await this.run(['init', '-e', 'repokey', this.repo]), 'borg init');
  }

  async backup(data: string, step: BackupStep): Promise<StepResult> {
    const archive = `${this.repo}::s${++this.archives}`;
    // borg's equivalent of a full re-read: ignore the files cache, so every file is read and chunked.
    const full = step === 'full' ? ['--files-cache=disabled'] : [];
    const m = check(
      await this.run(['create', '--json', '--compression', 'lz4', ...full, archive, data]),
      `borg create (${step})`,
    );
    let added: number | undefined;
    try {
      const doc = JSON.parse(m.stdout) as { archive?: { stats?: { deduplicated_size?: number } } };
      added = doc.archive?.stats?.deduplicated_size;
    } catch {}
    return { ...m, ...(added !== undefined ? { reportedAdded: added } : {}) };
  }

  async restore(target: string): Promise<StepResult> {
    await mkdir(target, { recursive: true });
    return check(await this.run(['extract', `${this.repo}::s${this.archives}`], target), 'borg extract');
  }

  async list(): Promise<StepResult> {
    return check(await this.run(['list', this.repo]), 'borg list');
  }

  async verify(): Promise<StepResult> {
    return check(await this.run(['check', '--verify-data', this.repo]), 'borg check --verify-data');
  }
}

/** Bytes of the repository on disk. */
export function repoBytes(tool: Tool): number {
  return diskUsage(tool.repo);
}

export async function removeDir(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}
