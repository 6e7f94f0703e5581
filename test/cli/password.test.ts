/**
 * Where the password comes from: CAIRN_PASSWORD, --password-file, --password-command,
 * CAIRN_PASSWORD_FILE, CAIRN_PASSWORD_COMMAND (the prompt is in tty.test.ts). Wrong ones exit 12; a
 * file and a command together are a usage error.
 */
import { execFileSync } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectCode, PASSWORD, Sandbox, shellQuote } from './helpers.js';

let b: Sandbox;
let goodFile: string;
let badFile: string;
const noEnvPassword = { CAIRN_PASSWORD: undefined };

beforeAll(async () => {
  b = await Sandbox.create();
  await b.init();
  goodFile = b.path('good-password');
  badFile = b.path('bad-password');
  await fsp.writeFile(goodFile, `${PASSWORD}\n`); // the trailing newline is not part of it
  await fsp.writeFile(badFile, 'not it\n');
});
afterAll(async () => {
  await b.remove();
});

/** `cairn snapshots` with these arguments and environment; returns the exit code. */
async function opens(args: string[], env: Record<string, string | undefined> = noEnvPassword): Promise<number | null> {
  const r = await b.run(['snapshots', ...args], { env });
  expect(r.stdout + r.stderr).not.toContain(PASSWORD); // never printed
  return r.code;
}

describe('password sources', () => {
  it('CAIRN_PASSWORD', async () => {
    expect(await opens([], { CAIRN_PASSWORD: PASSWORD })).toBe(0);
    expect(await opens([], { CAIRN_PASSWORD: `${PASSWORD} ` })).toBe(12);
  });

  it('--password-file', async () => {
    expect(await opens(['--password-file', goodFile])).toBe(0);
    expect(await opens(['--password-file', badFile])).toBe(12);
    // the option wins over the environment
    expect(await opens(['--password-file', goodFile], { CAIRN_PASSWORD: 'wrong' })).toBe(0);
  });

  it('--password-file that is a named pipe, as `<(command)` gives', async () => {
    const fifo = b.path('password-pipe');
    execFileSync('mkfifo', [fifo]);
    // The writer waits for the CLI to open the pipe; it is read once, by the CLI alone.
    const writer = fsp.writeFile(fifo, `${PASSWORD}\n`);
    expect(await opens(['--password-file', fifo], { CAIRN_PASSWORD: 'not this one' })).toBe(0);
    await writer;
  });

  it('--password-command (first line of its output)', async () => {
    expect(await opens(['--password-command', `printf '%s\\n%s\\n' ${shellQuote(PASSWORD)} trailing-junk`])).toBe(0);
    expect(await opens(['--password-command', `cat ${shellQuote(goodFile)}`], { CAIRN_PASSWORD: 'wrong' })).toBe(0);
    expect(await opens(['--password-command', 'echo nope'])).toBe(12);
  });

  it('CAIRN_PASSWORD_FILE and CAIRN_PASSWORD_COMMAND', async () => {
    expect(await opens([], { CAIRN_PASSWORD: undefined, CAIRN_PASSWORD_FILE: goodFile })).toBe(0);
    expect(await opens([], { CAIRN_PASSWORD: undefined, CAIRN_PASSWORD_FILE: badFile })).toBe(12);
    expect(await opens([], { CAIRN_PASSWORD: undefined, CAIRN_PASSWORD_COMMAND: `cat ${shellQuote(goodFile)}` })).toBe(
      0,
    );
  });

  it('problems with a source are clear errors (exit 1)', async () => {
    const missing = await b.run(['snapshots', '--password-file', b.path('no-such-file')], { env: noEnvPassword });
    expectCode(missing, 1);
    expect(missing.stderr).toContain(`cannot read password file ${b.path('no-such-file')}`);

    const failing = await b.run(['snapshots', '--password-command', 'exit 3'], { env: noEnvPassword });
    expectCode(failing, 1);
    expect(failing.stderr.trim()).toBe('cairn: password command "exit 3" failed (exit status 3)');
    // its exit status and the end of what it printed on standard error
    const missingCommand = await b.run(['snapshots', '--password-command', 'nonexistentcmd'], { env: noEnvPassword });
    expectCode(missingCommand, 1);
    expect(missingCommand.stderr.trim()).toMatch(
      /^cairn: password command "nonexistentcmd" failed \(exit status 127\): .*nonexistentcmd.*not found$/,
    );
    const noisy = await b.run(['snapshots', '--password-command', 'echo one >&2; echo two >&2; exit 4'], {
      env: noEnvPassword,
    });
    expect(noisy.stderr.trim()).toBe(
      'cairn: password command "echo one >&2; echo two >&2; exit 4" failed (exit status 4): one / two',
    );

    const empty = b.path('empty-password');
    await fsp.writeFile(empty, '\n');
    const e = await b.run(['snapshots', '--password-file', empty], { env: noEnvPassword });
    expectCode(e, 1);
    expect(e.stderr.trim()).toBe('cairn: the password is empty');
  });

  it('a password file and a password command together are a usage error naming both', async () => {
    const cases: [string[], Record<string, string | undefined>, string][] = [
      [['--password-file', goodFile, '--password-command', 'echo x'], {}, '--password-file and --password-command'],
      [
        ['--password-command', 'echo x'],
        { CAIRN_PASSWORD_FILE: goodFile },
        'CAIRN_PASSWORD_FILE and --password-command',
      ],
      [
        ['--password-file', goodFile],
        { CAIRN_PASSWORD_COMMAND: 'echo x' },
        '--password-file and CAIRN_PASSWORD_COMMAND',
      ],
      [
        [],
        { CAIRN_PASSWORD_FILE: goodFile, CAIRN_PASSWORD_COMMAND: 'echo x' },
        'CAIRN_PASSWORD_FILE and CAIRN_PASSWORD_COMMAND',
      ],
    ];
    for (const [args, env, both] of cases) {
      const r = await b.run(['snapshots', ...args], { env: { ...noEnvPassword, ...env } });
      expectCode(r, 1);
      expect(r.stderr.split('\n')[0]).toBe(`cairn: ${both} cannot be used together: give the password one way only`);
      expect(r.stderr).toContain('Usage: cairn snapshots'); // as every usage error
      const j = await b.run(['snapshots', '--json', ...args], { env: { ...noEnvPassword, ...env } });
      expectCode(j, 1);
      expect(JSON.parse(j.stdout.trim())).toMatchObject({ type: 'error', code: 'USAGE', exitCode: 1 });
    }
  });

  it('no source and no terminal to ask on: exit 1 naming the options', async () => {
    const r = await b.run(['snapshots'], { env: noEnvPassword });
    expectCode(r, 1);
    expect(r.stderr).toContain('no password given: set CAIRN_PASSWORD, or use --password-file or --password-command');
  });

  it('the repository is checked before the password is asked for (exit 10 first)', async () => {
    const r = await b.run(['snapshots', '--repo', b.path('nope')], { env: noEnvPassword });
    expectCode(r, 10);
  });
});
