/**
 * Where the repository password comes from, first match wins: --password-file, --password-command,
 * CAIRN_PASSWORD_FILE, CAIRN_PASSWORD_COMMAND, CAIRN_PASSWORD, else a prompt on the terminal that
 * does not echo; a file and a command together are refused (see password-source.ts). A password
 * is never accepted on the command line (it would show in `ps`).
 */
import { type ExecFileException, execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { CairnError } from '@cairn/core';
import { type PasswordSources, passwordSource, stripNewline } from './password-source.js';

export type { PasswordSources } from './password-source.js';

async function fromFile(file: string): Promise<string> {
  try {
    return stripNewline(await readFile(file, 'utf8'));
  } catch (err) {
    throw new CairnError('NOT_FOUND', `cannot read password file ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/** How a password command failed: its exit status (or signal) and the end of its error output. */
function commandFailure(command: string, err: ExecFileException, stderr: string): string {
  let how: string;
  if (typeof err.code === 'number') how = `exit status ${err.code}`;
  else if (err.signal) how = `killed by ${err.signal}`;
  else how = err.message.split('\n')[0] ?? 'error'; // could not start, or too much output
  const last = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-3)
    .map((l) => (l.length > 200 ? `${l.slice(0, 200)}…` : l));
  return `password command ${JSON.stringify(command)} failed (${how})${last.length ? `: ${last.join(' / ')}` : ''}`;
}

function fromCommand(command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('/bin/sh', ['-c', command], { maxBuffer: 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        reject(new CairnError('INVALID_ARGUMENT', commandFailure(command, err, String(stderr)), { cause: err }));
      } else {
        resolve(stripNewline(stdout.split('\n')[0] ?? ''));
      }
    });
  });
}

/** Reads a line from the terminal without echoing it. */
export function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    process.stderr.write(question);
    let value = '';
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    const done = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003') return done(new CairnError('ABORTED', 'interrupted'));
        if (ch === '\u0004') return done();
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

/** Resolves the password from the sources above; `purpose` words the prompt. */
export async function getPassword(
  sources: PasswordSources,
  purpose = 'enter password for repository: ',
): Promise<string> {
  const source = passwordSource(sources);
  let pw: string | undefined;
  if (source.from === 'file') pw = await fromFile(source.file);
  else if (source.from === 'command') pw = await fromCommand(source.command);
  else if (source.from === 'env') pw = source.value;
  else if (process.stdin.isTTY) pw = await promptHidden(purpose);
  else {
    throw new CairnError(
      'INVALID_ARGUMENT',
      'no password given: set CAIRN_PASSWORD, or use --password-file or --password-command (no terminal to ask on)',
    );
  }
  if (!pw) throw new CairnError('INVALID_ARGUMENT', 'the password is empty');
  return pw;
}

/** A new password: from `envVar` / `file`, else asked twice on the terminal. */
export async function getNewPassword(file: string | undefined, envVar = 'CAIRN_NEW_PASSWORD'): Promise<string> {
  let pw: string | undefined;
  if (file) pw = await fromFile(file);
  else if (process.env[envVar] !== undefined) pw = process.env[envVar];
  else if (process.stdin.isTTY) {
    pw = await promptHidden('enter new password: ');
    const again = await promptHidden('enter the new password again: ');
    if (pw !== again) throw new CairnError('INVALID_ARGUMENT', 'the passwords do not match');
  } else {
    throw new CairnError('INVALID_ARGUMENT', `no new password given: use --new-password-file or set ${envVar}`);
  }
  if (!pw) throw new CairnError('INVALID_ARGUMENT', 'the new password is empty');
  return pw;
}
