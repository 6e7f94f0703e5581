/**
 * Helpers for end-to-end tests of the built `cairn` CLI: run it as a subprocess (optionally as
 * another user or in a pseudo-terminal through util-linux `script`), make throwaway repositories
 * in temp dirs, and read what the CLI printed.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '../..');
/** The executable under test (runs the built dist/); CAIRN_E2E_BIN tests another build of it. */
export const CAIRN = process.env.CAIRN_E2E_BIN ?? join(repoRoot, 'packages/cli/bin/cairn.js');
/** A byte source that writes random data slowly (see the file for its arguments). */
export const SLOW_SOURCE = join(here, 'fixtures/slow-source.mjs');

export const PASSWORD = 'correct horse battery staple';
/** Every command the contract requires (one file per command in packages/cli/src/commands). */
export const COMMANDS = [
  'backup',
  'cat',
  'diff',
  'init',
  'key',
  'ls',
  'repair',
  'restore',
  'snapshots',
  'stats',
  'unlock',
] as const;

export const isRoot = process.getuid?.() === 0;
/** uid/gid of `nobody`, used to make a file unreadable when the tests run as root. */
export const NOBODY = { uid: 65534, gid: 65534 };
export const hasScript = (() => {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

export interface RunOptions {
  /** Environment on top of a minimal base (PATH, HOME, LANG); `undefined` values unset a variable. */
  env?: Record<string, string | undefined>;
  /** Written to stdin, which is then closed (stdin is empty otherwise). */
  input?: string | Buffer;
  cwd?: string;
  uid?: number;
  gid?: number;
  /** Kill (SIGKILL) and fail after this long. Default 30 s. */
  timeoutMs?: number;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A clean environment: nothing from the test process leaks in (no CAIRN_*, no NODE_OPTIONS). */
export function baseEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: tmpdir(),
    LANG: 'C.UTF-8',
    SHELL: '/bin/sh',
    ...extra,
  };
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

/** Starts the CLI without waiting (for signals and interactive use). */
export function spawnCairn(args: string[], options: RunOptions = {}): ChildProcess {
  return spawn(process.execPath, [CAIRN, ...args], {
    env: baseEnv(options.env),
    cwd: options.cwd ?? repoRoot,
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(options.uid !== undefined ? { uid: options.uid } : {}),
    ...(options.gid !== undefined ? { gid: options.gid } : {}),
  });
}

/** Collects a child's output and waits for it to exit. */
export function finished(child: ChildProcess, timeoutMs = 30_000): Promise<RunResult> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (d: Buffer) => out.push(d));
  child.stderr?.on('data', (d: Buffer) => err.push(d));
  child.stdin?.on('error', () => {}); // the child may exit before reading its input
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `process did not exit within ${timeoutMs} ms\nstdout: ${Buffer.concat(out).toString()}\nstderr: ${Buffer.concat(err).toString()}`,
        ),
      );
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
  });
}

/** Runs `cairn ARGS` to completion. */
export async function runCairn(args: string[], options: RunOptions = {}): Promise<RunResult> {
  const child = spawnCairn(args, options);
  const done = finished(child, options.timeoutMs);
  if (options.input !== undefined) child.stdin?.end(options.input);
  else child.stdin?.end();
  return done;
}

/** Resolves with everything `stream` printed so far once it contains `text` (or `test` matches). */
export function waitForOutput(
  child: ChildProcess,
  test: (all: string) => boolean,
  { timeoutMs = 15_000, stream = 'stdout' as 'stdout' | 'stderr' } = {},
): Promise<string> {
  const source = child[stream];
  let all = '';
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      source?.off('data', onData);
      reject(new Error(`timed out waiting for output; got: ${all}`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      all += d.toString();
      if (test(all)) {
        clearTimeout(timer);
        source?.off('data', onData);
        resolvePromise(all);
      }
    };
    source?.on('data', onData);
    child.on('close', () => {
      clearTimeout(timer);
      if (!test(all)) reject(new Error(`process exited before the expected output; got: ${all}`));
    });
  });
}

/** Parses JSON-lines output; every non-empty line must be one JSON object. */
export function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((line) => {
      try {
        const v = JSON.parse(line) as unknown;
        if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
        return v as Record<string, unknown>;
      } catch (e) {
        throw new Error(`not a JSON object line: ${JSON.stringify(line)} (${(e as Error).message})`);
      }
    });
}

/** Quotes words for /bin/sh. */
export function shellQuote(...words: string[]): string {
  return words.map((w) => `'${w.replaceAll("'", `'\\''`)}'`).join(' ');
}

export interface PtyResult {
  code: number | null;
  /** Everything the terminal showed (stdout and stderr of the command, and any echo). */
  output: string;
}

/**
 * Runs a shell command line with a pseudo-terminal as its stdin, stdout and stderr, through
 * `script -q -e -c CMD /dev/null`. `interact` sees the output as it grows and may type into it.
 */
export function runInPty(
  commandLine: string,
  options: {
    env?: Record<string, string | undefined>;
    cwd?: string;
    timeoutMs?: number;
    interact?: (output: string, type: (text: string) => void) => void;
  } = {},
): Promise<PtyResult> {
  const child = spawn('script', ['-q', '-e', '-c', commandLine, '/dev/null'], {
    env: baseEnv(options.env),
    cwd: options.cwd ?? repoRoot,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  const type = (text: string) => child.stdin.write(text);
  child.stdout.on('data', (d: Buffer) => {
    output += d.toString();
    options.interact?.(output, type);
  });
  child.stderr.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stdin.on('error', () => {});
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`pty command did not exit; output so far: ${JSON.stringify(output)}`));
    }, options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, output });
    });
  });
}

/** The command line that runs the CLI, for `runInPty`. */
export function cairnCommandLine(args: string[]): string {
  return shellQuote(process.execPath, CAIRN, ...args);
}

/**
 * A temp folder with a repository location, a cache folder and a home; `run` uses them through
 * CAIRN_REPOSITORY, CAIRN_CACHE_DIR and CAIRN_PASSWORD unless the options say otherwise.
 */
export class Sandbox {
  readonly repo: string;
  readonly cache: string;
  readonly home: string;

  private constructor(readonly root: string) {
    this.repo = join(root, 'repo');
    this.cache = join(root, 'cache');
    this.home = join(root, 'home');
  }

  static async create(): Promise<Sandbox> {
    const root = await fsp.mkdtemp(join(tmpdir(), 'cairn-e2e-'));
    await fsp.chmod(root, 0o755); // reachable by `nobody` in the tests that need it
    const box = new Sandbox(root);
    await fsp.mkdir(box.home);
    return box;
  }

  /** A path inside the sandbox. */
  path(...parts: string[]): string {
    return join(this.root, ...parts);
  }

  /** The environment `run` uses. */
  env(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
    return {
      HOME: this.home,
      CAIRN_REPOSITORY: this.repo,
      CAIRN_CACHE_DIR: this.cache,
      CAIRN_PASSWORD: PASSWORD,
      ...extra,
    };
  }

  run(args: string[], options: RunOptions = {}): Promise<RunResult> {
    return runCairn(args, { cwd: this.root, ...options, env: this.env(options.env) });
  }

  spawn(args: string[], options: RunOptions = {}): ChildProcess {
    return spawnCairn(args, { cwd: this.root, ...options, env: this.env(options.env) });
  }

  /** `cairn init` with a cheap key derivation; returns the repository id. */
  async init(options: RunOptions = {}): Promise<string> {
    const r = await this.run(['init', '--kdf-work', '1024', '--json'], options);
    expectCode(r, 0);
    const summary = jsonLines(r.stdout).at(-1);
    return String(summary?.id);
  }

  /** `cairn backup --json ARGS`; returns the parsed summary event. */
  async backup(args: string[], options: RunOptions = {}): Promise<BackupSummaryLine> {
    const r = await this.run(['backup', '--json', ...args], options);
    expectCode(r, 0);
    const summary = jsonLines(r.stdout).find((e) => e.type === 'summary');
    if (!summary) throw new Error(`no summary in ${r.stdout}`);
    return summary as unknown as BackupSummaryLine;
  }

  /** Snapshots as `snapshots --json` lists them. */
  async snapshots(options: RunOptions = {}): Promise<SnapshotJson[]> {
    const r = await this.run(['snapshots', '--json'], options);
    expectCode(r, 0);
    return JSON.parse(r.stdout) as SnapshotJson[];
  }

  async remove(): Promise<void> {
    await fsp.rm(this.root, { recursive: true, force: true });
  }
}

export interface BackupSummaryLine {
  type: 'summary';
  operation: 'backup';
  snapshotId: string;
  kind: string;
  parent: string | null;
  files: { new: number; changed: number; unchanged: number };
  bytes: { read: number; added: number; stored: number };
  durationMs: number;
  partial: boolean;
}

export interface SnapshotJson {
  id: string;
  time: string;
  host: string;
  operator: string;
  paths: string[];
  tags: string[];
  class: string;
  kind: string;
  parent: string | null;
  partial: boolean;
  stats: Record<string, number>;
}

/** Fails with the CLI's output when the exit code is not `code` (clearer than a bare number diff). */
export function expectCode(r: RunResult, code: number): void {
  if (r.code !== code) {
    throw new Error(
      `expected exit code ${code}, got ${r.code}${r.signal ? ` (signal ${r.signal})` : ''}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`,
    );
  }
}

export type TreeSpec = Record<string, string | Buffer | { symlink: string }>;

/** Writes files (and symlinks) below `root`; keys are relative paths. */
export async function writeTree(root: string, spec: TreeSpec): Promise<void> {
  for (const [rel, content] of Object.entries(spec)) {
    const path = join(root, rel);
    await fsp.mkdir(dirname(path), { recursive: true });
    if (typeof content === 'object' && !Buffer.isBuffer(content)) await fsp.symlink(content.symlink, path);
    else await fsp.writeFile(path, content);
  }
}

/** Reads a directory back as relative path → content (files), "-> target" (symlinks), or "<dir>". */
export async function readTree(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string): Promise<void> => {
    for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      const rel = relative(root, path);
      if (e.isSymbolicLink()) out[rel] = `-> ${await fsp.readlink(path)}`;
      else if (e.isDirectory()) {
        out[rel] = '<dir>';
        await walk(path);
      } else out[rel] = (await fsp.readFile(path)).toString('base64');
    }
  };
  await walk(root);
  return out;
}

/** Every file below `dir` (recursively) whose name starts with `prefix`. */
export async function findNamed(dir: string, prefix: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await fsp.readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.name.startsWith(prefix)).map((e) => join(e.parentPath, e.name));
}

/** Names in a folder, or [] when it does not exist. */
export async function names(dir: string): Promise<string[]> {
  return existsSync(dir) ? (await fsp.readdir(dir)).sort() : [];
}

/** Changes the owner of everything below `path` (tests running as root only). */
export async function chownTree(path: string, uid: number, gid: number): Promise<void> {
  await fsp.chown(path, uid, gid);
  for (const e of await fsp.readdir(path, { recursive: true, withFileTypes: true })) {
    await fsp.lchown(join(e.parentPath, e.name), uid, gid);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** True while a process exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
