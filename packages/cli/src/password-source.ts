/**
 * Which source a password comes from, first match wins: --password-file, --password-command,
 * CAIRN_PASSWORD_FILE, CAIRN_PASSWORD_COMMAND, CAIRN_PASSWORD, else a prompt. Decided without
 * reading anything, and apart from password.ts (which loads Cairn), so that the executable's
 * startup step (startup.ts) follows the same order.
 */

export interface PasswordSources {
  file?: string | undefined;
  command?: string | undefined;
}

export type PasswordSource =
  | { from: 'file'; file: string }
  | { from: 'command'; command: string }
  | { from: 'env'; value: string }
  | { from: 'prompt' };

export function passwordSource(sources: PasswordSources, env: NodeJS.ProcessEnv = process.env): PasswordSource {
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
