/**
 * The options every command accepts, and how the command name is found among them. Kept apart
 * from main.ts, which loads all of Cairn: the executable's startup step (startup.ts) reads them
 * before that.
 */
import type { OptionSpec } from './command.js';

/** Options every command accepts. */
export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  repo: {
    type: 'string',
    short: 'r',
    value: 'LOCATION',
    help: 'repository (path or file:// URL; env CAIRN_REPOSITORY)',
  },
  'password-file': { type: 'string', value: 'FILE', help: 'read the password from FILE (env CAIRN_PASSWORD_FILE)' },
  'password-command': { type: 'string', value: 'CMD', help: 'run CMD and use its output as password' },
  'cache-dir': { type: 'string', value: 'DIR', help: 'local cache folder (env CAIRN_CACHE_DIR)' },
  json: { type: 'boolean', help: 'machine-readable output (JSON lines for long operations)' },
  quiet: { type: 'boolean', short: 'q', help: 'no progress or status messages (listings still print)' },
  'no-progress': { type: 'boolean', help: 'no progress bar' },
  verbose: { type: 'boolean', short: 'v', help: 'more detail, and stack traces on errors' },
  help: { type: 'boolean', short: 'h', help: 'show help' },
  version: { type: 'boolean', help: 'print the version' },
};

/** The command name: the first argument that is neither an option nor an option's value. */
export function splitCommand(argv: string[]): { name?: string; rest: string[] } {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (a.startsWith('-')) {
      const long = a.startsWith('--') ? a.slice(2) : undefined;
      const spec =
        long !== undefined ? GLOBAL_OPTIONS[long] : Object.values(GLOBAL_OPTIONS).find((o) => `-${o.short}` === a);
      if (spec?.type === 'string' && !a.includes('=')) i++;
      continue;
    }
    return { name: a, rest: [...argv.slice(0, i), ...argv.slice(i + 1)] };
  }
  return { rest: argv };
}

/** `options` in the form node:util's parseArgs takes. */
export function parseArgsSpec(
  options: Record<string, OptionSpec>,
): Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> {
  const spec: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const [name, o] of Object.entries(options)) {
    spec[name] = { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) };
  }
  return spec;
}
