/**
 * The executable's startup step (packages/cli/src/startup.ts): it starts the key derivation
 * before the CLI loads, only when it knows the repository and the password the command will use,
 * and the command's opening takes that derivation. The password sources themselves, through the
 * built CLI, are in password.test.ts.
 */
import * as fsp from 'node:fs/promises';
import { Repository, startedKeyDerivations } from '@cairn/core';
import { DiskStore } from '@cairn/store-disk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveKeyEarly } from '../../packages/cli/src/startup.js';
import { PASSWORD, Sandbox } from './helpers.js';

let b: Sandbox;
let passwordFile: string;

beforeAll(async () => {
  b = await Sandbox.create();
  await b.init();
  passwordFile = b.path('password');
  await fsp.writeFile(passwordFile, `${PASSWORD}\n`);
});
afterAll(async () => {
  await b.remove();
});

/** Opens the sandbox's repository as a command would, with `password`. */
async function open(password: string): Promise<void> {
  const repo = await Repository.open(new DiskStore(b.repo), { password, cacheDir: b.path('cache') });
  await repo.close();
}

describe('key derivation at startup', () => {
  it('starts for a command opening a disk repository with CAIRN_PASSWORD, and the opening takes it', async () => {
    expect(deriveKeyEarly(['--repo', b.repo, 'snapshots'], { CAIRN_PASSWORD: PASSWORD })).toBe(true);
    expect(startedKeyDerivations()).toBe(1);
    await open(PASSWORD);
    expect(startedKeyDerivations()).toBe(0);
  });

  it('reads the repository and the password where the CLI does', async () => {
    const cases: [string[], NodeJS.ProcessEnv][] = [
      [['restore', 'latest', '-r', b.repo, '--target', '/x'], { CAIRN_PASSWORD: PASSWORD }],
      [[`--repo=file://${b.repo}`, 'verify'], { CAIRN_PASSWORD: PASSWORD }],
      [['ls', 'latest'], { CAIRN_REPOSITORY: b.repo, CAIRN_PASSWORD: PASSWORD }],
      [['--password-file', passwordFile, '--repo', b.repo, 'stats'], { CAIRN_PASSWORD: 'not this one' }],
      [['snapshots', '--repo', b.repo], { CAIRN_PASSWORD_FILE: passwordFile }],
    ];
    for (const [argv, env] of cases) {
      expect(deriveKeyEarly(argv, env), argv.join(' ')).toBe(true);
      await open(PASSWORD); // takes it: the same password as the command's
      expect(startedKeyDerivations(), argv.join(' ')).toBe(0);
    }
  });

  it('starts nothing when the command, the store or the password is not known for sure', () => {
    const env = { CAIRN_PASSWORD: PASSWORD };
    const none: [string[], NodeJS.ProcessEnv][] = [
      [['--repo', b.repo, 'init'], env],
      [['--repo', b.repo, 'snapshots', '--help'], env],
      [['--repo', b.repo, '--version'], env],
      [['--repo', b.repo, 'no-such-command'], env],
      [['--repo', b.path('missing'), 'snapshots'], env],
      [['--repo', 's3://bucket/prefix', 'snapshots'], env],
      [['snapshots'], env], // no repository given
      [['--repo', b.repo, 'snapshots'], {}], // the CLI would prompt
      [['--repo', b.repo, '--password-command', 'echo x', 'snapshots'], env], // the command wins
      [['--repo', b.repo, 'snapshots'], { CAIRN_PASSWORD_COMMAND: 'echo x', CAIRN_PASSWORD: PASSWORD }],
      [['--repo', b.repo, '--password-file', b.root, 'snapshots'], env], // not a regular file
      [['--repo', b.repo, 'snapshots'], { CAIRN_PASSWORD: '' }],
    ];
    for (const [argv, e] of none) expect(deriveKeyEarly(argv, e), argv.join(' ')).toBe(false);
    expect(startedKeyDerivations()).toBe(0);
  });

  it('a wrong password started early still fails, and is not used for the right one', async () => {
    expect(deriveKeyEarly(['--repo', b.repo, 'snapshots'], { CAIRN_PASSWORD: 'wrong' })).toBe(true);
    await open(PASSWORD);
    await expect(open('wrong')).rejects.toMatchObject({ code: 'WRONG_PASSWORD' });
    expect(startedKeyDerivations()).toBe(0);
  });
});
