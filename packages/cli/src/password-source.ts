/**
 * Which source a password comes from, first match wins: --password-file, --password-command,
 * CAIRN_PASSWORD_FILE, CAIRN_PASSWORD_COMMAND, CAIRN_PASSWORD, else a prompt. A password file and
 * a password command together (each from its option or its variable) are a usage error, as in
 * restic: which one was meant is not for cairn to guess. Decided without reading anything, and
 * apart from password.ts (which loads Cairn), so that the executable's startup step (startup.ts)
 * follows the same order.
 */
import { UsageError } from './usage-error.js';

export interface PasswordSources {
  file?: string | undefined;
  command?: string | undefined;
}

export type PasswordSource =
  | { from: 'file'; file: string }
  | { from: 'command'; command: string }
  | { from: 'env'; value: string }
  | { from: 'prompt' };

/** Why the sources cannot be used together (a password file and a password command), if they cannot. */
export function passwordSourceConflict(
  sources: PasswordSources,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const file = sources.file ? '--password-file' : env.CAIRN_PASSWORD_FILE ? 'CAIRN_PASSWORD_FILE' : undefined;
  const command = sources.command
    ? '--password-command'
    : env.CAIRN_PASSWORD_COMMAND
      ? 'CAIRN_PASSWORD_COMMAND'
      : undefined;
  if (!file || !command) return undefined;
  return `${file} and ${command} cannot be used together: give the password one way only`;
}

/** The source of the password; throws a {@link UsageError} when a file and a command are both given. */
export function passwordSource(sources: PasswordSources, env: NodeJS.ProcessEnv = process.env): PasswordSource {
  const conflict = passwordSourceConflict(sources, env);
  if (conflict) throw new UsageError(conflict);
  if (sources.file) return { from: 'file', file: sources.file };
  if (sources.command) return { from: 'command', command: sources.command };
  if (env.CAIRN_PASSWORD_FILE) return { from: 'file', file: env.CAIRN_PASSWORD_FILE };
  if (env.CAIRN_PASSWORD_COMMAND) return { from: 'command', command: env.CAIRN_PASSWORD_COMMAND };
  if (env.CAIRN_PASSWORD !== undefined) return { from: 'env', value: env.CAIRN_PASSWORD };
  return { from: 'prompt' };
}

/** A password file's or command's text without its final line break. */
export function stripNewline(s: string): string {
  return s.replace(/\r?\n$/, '');
}
