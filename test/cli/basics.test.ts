/**
 * The command line itself: --version, --help on every command, usage errors, repository locations,
 * init refusing to overwrite, and the one-line error format (stack only with --verbose).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, COMMANDS, expectCode, jsonLines, names, readTree, repoRoot, runCairn, Sandbox } from './helpers.js';

const execFileP = promisify(execFile);

let box: Sandbox;
beforeAll(async () => {
  box = await Sandbox.create();
});
afterAll(async () => {
  await box.remove();
});

describe('version and help', () => {
  it('--version prints the version of the packages', async () => {
    const r = await runCairn(['--version']);
    expectCode(r, 0);
    const { version } = JSON.parse(readFileSync(join(repoRoot, 'packages/core/package.json'), 'utf8')) as {
      version: string;
    };
    expect(r.stdout.trim()).toBe(`cairn ${version}`);
  });

  it('`pnpm cairn` (the root package script) runs the same executable', async () => {
    // npm runs the same package.json script pnpm does, without needing pnpm installed here.
    const { stdout } = await execFileP('npm', ['run', '--silent', 'cairn', '--', '--version'], {
      cwd: repoRoot,
      env: baseEnv(),
    });
    expect(stdout.trim()).toMatch(/^cairn \d+\.\d+\.\d+/);
  });

  it('--help lists every command of the contract and the exit codes', async () => {
    const r = await runCairn(['--help']);
    expectCode(r, 0);
    const listed = [...r.stdout.matchAll(/^ {2}([a-z]+) {2,}\S/gm)].map((m) => m[1]);
    expect(listed).toEqual(expect.arrayContaining([...COMMANDS])); // other commands may be added
    expect(r.stdout).toContain('Usage: cairn');
    expect(r.stdout).toMatch(/130 interrupted/);
  });

  it.each(COMMANDS)('%s --help shows its usage and exits 0', async (name) => {
    const r = await runCairn([name, '--help']);
    expectCode(r, 0);
    expect(r.stdout).toContain(`Usage: cairn ${name}`);
    expect(r.stdout).toContain('Global options:');
    expect(r.stdout).toContain('--json');
    expect(r.stderr).toBe('');
  });

  it('-h works too, even after other arguments', async () => {
    const r = await runCairn(['restore', 'latest', '-h']);
    expectCode(r, 0);
    expect(r.stdout).toContain('Usage: cairn restore SNAPSHOT --target DIR');
  });

  it('without a command: general help on stderr, exit 1', async () => {
    const r = await runCairn([]);
    expectCode(r, 1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('Usage: cairn [global options] COMMAND');
  });
});

describe('usage errors (exit 1 with the usage of the command)', () => {
  const cases: [string, string[], string][] = [
    ['unknown flag', ['backup', '--bogus', '/tmp'], "Unknown option '--bogus'"],
    ['unknown flag of another command', ['snapshots', '--target', 'x'], "Unknown option '--target'"],
    ['the password on the command line', ['snapshots', '--password', 'pw'], "Unknown option '--password'"],
    ['backup without PATH', ['backup'], 'nothing to back up'],
    ['backup with PATH and --stdin', ['backup', '--stdin', '--stdin-name', 'x', '/tmp'], 'not both'],
    ['backup --stdin without a name', ['backup', '--stdin'], '--stdin needs --stdin-name'],
    ['backup with a bad --kind', ['backup', '--kind', 'weekly', '/tmp'], '--kind must be one of'],
    ['backup with a bad --class', ['backup', '--class', 'secret', '/tmp'], '--class must be one of'],
    ['ls without SNAPSHOT', ['ls'], 'missing SNAPSHOT'],
    ['diff with one snapshot', ['diff', 'latest'], 'diff needs two snapshots'],
    ['restore without SNAPSHOT', ['restore', '--target', '/tmp/x'], 'missing SNAPSHOT'],
    ['restore without --target', ['restore', 'latest'], 'missing --target DIR'],
    ['cat without what', ['cat'], 'config or snapshot'],
    ['cat snapshot without id', ['cat', 'snapshot'], 'missing SNAPSHOT'],
    ['key without subcommand', ['key'], 'missing key command'],
    ['key remove without id', ['key', 'remove'], 'missing key ID'],
    ['repair without what', ['repair'], 'what to repair: index'],
    ['a string option without its value', ['restore', 'latest', '--target'], "Option '-t, --target <value>'"],
  ];
  it.each(cases)('%s', async (_title, args, message) => {
    const r = await box.run(args);
    expectCode(r, 1);
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain(`Usage: cairn ${args[0]}`);
    expect(r.stdout).toBe('');
  });

  it('an unknown command points to --help', async () => {
    const r = await runCairn(['frobnicate']);
    expectCode(r, 1);
    expect(r.stderr).toContain('unknown command "frobnicate"');
    expect(r.stderr).toContain('cairn --help');
  });

  it.each([
    ['an unknown command', ['frobnicate', '--json'], 'cairn', 'unknown command "frobnicate"'],
    ['an unknown command, --json first', ['--json', 'frobnicate'], 'cairn', 'unknown command "frobnicate"'],
    ['an unknown flag', ['backup', '--bogus', '--json', '/tmp'], 'backup', "Unknown option '--bogus'"],
    ['a bad --kind', ['backup', '--kind', 'bogus', '/tmp', '--json'], 'backup', '--kind must be one of'],
    ['restore without --target', ['restore', 'latest', '--json'], 'restore', 'missing --target DIR'],
    ['ls without SNAPSHOT', ['ls', '--json'], 'ls', 'missing SNAPSHOT'],
    ['diff with one snapshot', ['diff', '--json', 'latest'], 'diff', 'diff needs two snapshots'],
    ['no command', ['--json'], 'cairn', 'missing command'],
  ])('with --json, %s is also one JSON error line (code USAGE, exit 1)', async (_title, args, operation, message) => {
    const r = await box.run(args);
    expectCode(r, 1);
    expect(jsonLines(r.stdout)).toEqual([
      { type: 'error', operation, fatal: true, code: 'USAGE', message: expect.stringContaining(message), exitCode: 1 },
    ]);
    expect(r.stderr).toContain(message); // still explained for humans, with the usage
  });
});

describe('repository locations', () => {
  it.each([
    ['s3://bucket/prefix', 's3://'],
    ['ltfs:///mnt/tape', 'ltfs://'],
  ])('%s fails clearly: not supported in this build', async (location, scheme) => {
    for (const args of [
      ['init', '--repo', location],
      ['snapshots', '--repo', location],
    ]) {
      const r = await box.run(args);
      expectCode(r, 1);
      expect(r.stderr.trim()).toBe(
        `cairn: repository scheme "${scheme}" is not available in this build of cairn (supported: a path or file://)`,
      );
    }
  });

  it('no repository given: says how to give one', async () => {
    const r = await box.run(['snapshots'], { env: { CAIRN_REPOSITORY: undefined } });
    expectCode(r, 1);
    expect(r.stderr).toContain('use --repo LOCATION or set CAIRN_REPOSITORY');
  });

  it('a plain path, a file:// URL and CAIRN_REPOSITORY name the same disk repository', async () => {
    const b = await Sandbox.create();
    try {
      const none = await b.run(['init', '--kdf-work', '1024'], { env: { CAIRN_REPOSITORY: undefined } });
      expectCode(none, 1); // init needs a location too
      expect(none.stderr).toContain('no repository given');
      // a relative path is resolved against the working directory
      const made = await b.run(['init', '--kdf-work', '1024', '--repo', 'repo', '--json'], {
        env: { CAIRN_REPOSITORY: undefined },
      });
      expectCode(made, 0);
      const repoId = jsonLines(made.stdout)[0]?.id;
      expect(await names(b.repo)).toContain('config');
      for (const env of [{ CAIRN_REPOSITORY: undefined }, {}]) {
        const viaUrl = await b.run(['cat', 'config', '--repo', `file://${b.repo}`], { env });
        expectCode(viaUrl, 0);
        expect(JSON.parse(viaUrl.stdout).id).toBe(repoId);
      }
      const viaEnv = await b.run(['cat', 'config']);
      expectCode(viaEnv, 0);
      expect(JSON.parse(viaEnv.stdout).id).toBe(repoId);
    } finally {
      await b.remove();
    }
  });
});

describe('init', () => {
  it('creates a repository, and refuses to overwrite it (exit 1, repository untouched)', async () => {
    const b = await Sandbox.create();
    try {
      const r = await b.run(['init', '--kdf-work', '1024']);
      expectCode(r, 0);
      expect(r.stdout).toMatch(/^created repository [0-9a-f]{8} at /);
      const before = await readTree(b.repo);
      expect(Object.keys(before)).toEqual(expect.arrayContaining(['config', 'keys']));

      const again = await b.run(['init', '--kdf-work', '1024'], { env: { CAIRN_PASSWORD: 'another password' } });
      expectCode(again, 1);
      expect(again.stderr.trim()).toBe(`cairn: a repository already exists at ${b.repo}; refusing to overwrite it`);
      expect(await readTree(b.repo)).toEqual(before);
      // still opens with the first password, not the second
      expectCode(await b.run(['snapshots']), 0);
      expectCode(await b.run(['snapshots'], { env: { CAIRN_PASSWORD: 'another password' } }), 12);
    } finally {
      await b.remove();
    }
  });

  it('bad parameters fail before anything is written', async () => {
    const b = await Sandbox.create();
    try {
      const r = await b.run(['init', '--kdf-work', '1000']);
      expectCode(r, 1);
      expect(r.stderr).toContain('power of two');
      const c = await b.run(['init', '--kdf-work', '1024', '--compression', 'rar']);
      expectCode(c, 1);
      expect(c.stderr).toContain('unknown compression "rar"');
      expect(await names(b.repo)).toEqual([]);
    } finally {
      await b.remove();
    }
  });
});

describe('errors: one clear line, the stack only with --verbose', () => {
  let repoBox: Sandbox;
  beforeAll(async () => {
    repoBox = await Sandbox.create();
    await repoBox.init();
  });
  afterAll(async () => {
    await repoBox.remove();
  });

  it('missing repository: exit 10, one line', async () => {
    const r = await box.run(['snapshots', '--repo', box.path('nothing-here')]);
    expectCode(r, 10);
    expect(r.stderr.trim().split('\n')).toEqual([
      `cairn: no repository at ${box.path('nothing-here')} (create one with "cairn init")`,
    ]);
    // an existing folder that is not a repository is no repository either
    await fsp.mkdir(box.path('empty'), { recursive: true });
    expectCode(await box.run(['ls', 'latest', '--repo', box.path('empty')]), 10);
  });

  it('wrong password: exit 12, one line; --verbose adds the stack', async () => {
    const r = await repoBox.run(['snapshots'], { env: { CAIRN_PASSWORD: 'wrong' } });
    expectCode(r, 12);
    expect(r.stderr.trim().split('\n')).toEqual(['cairn: wrong password: no key of this repository matches it']);
    expect(r.stdout).toBe('');

    const v = await repoBox.run(['snapshots', '--verbose'], { env: { CAIRN_PASSWORD: 'wrong' } });
    expectCode(v, 12);
    const lines = v.stderr.trim().split('\n');
    expect(lines[0]).toBe('cairn: wrong password: no key of this repository matches it');
    expect(lines.length).toBeGreaterThan(2);
    expect(v.stderr).toMatch(/\n\s+at .+\(/);
  });

  it('with --json a fatal error is also a JSON line on stdout with its exit code', async () => {
    const r = await repoBox.run(['backup', '--json', repoBox.home], { env: { CAIRN_PASSWORD: 'wrong' } });
    expectCode(r, 12);
    expect(jsonLines(r.stdout)).toEqual([
      {
        type: 'error',
        operation: 'backup',
        fatal: true,
        code: 'WRONG_PASSWORD',
        message: 'wrong password: no key of this repository matches it',
        exitCode: 12,
      },
    ]);
  });

  it('an unknown snapshot is an error (exit 1), not a crash', async () => {
    const r = await repoBox.run(['ls', 'ffffffff']);
    expectCode(r, 1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^cairn: /);
    expect(r.stderr).not.toContain('internal error');
  });
});
