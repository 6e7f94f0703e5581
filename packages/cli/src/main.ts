/**
 * The `cairn` command line: parses global options, finds the command (one file per command in
 * commands/), runs it, and maps failures to the documented exit codes with one clear line (the
 * stack only with --verbose). Ctrl-C (SIGINT) or SIGTERM cancels cleanly through an AbortSignal; a
 * second one forces.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { isCairnError, VERSION } from '@cairn/core';
import type { Args, Command, OptionSpec } from './command.js';
import { Context, type GlobalOptions } from './context.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { GLOBAL_OPTIONS, parseArgsSpec, splitCommand } from './global-options.js';
import { Output } from './output.js';
import { passwordSourceConflict } from './password-source.js';
import { UsageError } from './usage-error.js';

export { GLOBAL_OPTIONS } from './global-options.js';

const commandsDir = join(dirname(fileURLToPath(import.meta.url)), 'commands');

/** Names of the available commands (the files in commands/). */
export function commandNames(): string[] {
  return readdirSync(commandsDir)
    .filter((f) => f.endsWith('.js'))
    .map((f) => f.slice(0, -3))
    .sort();
}

async function loadCommand(name: string): Promise<Command | undefined> {
  if (!/^[a-z][a-z-]*$/.test(name) || !commandNames().includes(name)) return undefined;
  return (await import(pathToFileURL(join(commandsDir, `${name}.js`)).href)).default as Command;
}

function optionHelp(options: Record<string, OptionSpec>): string {
  const rows = Object.entries(options).map(([name, o]) => {
    const left = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
    return `  ${left.padEnd(34)} ${o.help}${o.multiple ? ' (repeatable)' : ''}`;
  });
  return rows.join('\n');
}

/** Help text of one command. */
export function commandHelp(cmd: Command): string {
  return [
    `Usage: cairn ${cmd.usage}`,
    '',
    cmd.description ?? cmd.summary,
    '',
    ...(Object.keys(cmd.options).length ? ['Options:', optionHelp(cmd.options), ''] : []),
    'Global options:',
    optionHelp(GLOBAL_OPTIONS),
  ].join('\n');
}

async function generalHelp(): Promise<string> {
  const cmds = await Promise.all(commandNames().map(loadCommand));
  const rows = cmds.filter((c): c is Command => !!c).map((c) => `  ${c.name.padEnd(12)} ${c.summary}`);
  return [
    'cairn: content-addressed, deduplicating, encrypted backups',
    '',
    'Usage: cairn [global options] COMMAND [options] [arguments]',
    '',
    'Commands:',
    ...rows,
    '',
    'Global options:',
    optionHelp(GLOBAL_OPTIONS),
    '',
    'Exit codes: 0 ok, 1 error, 3 some files could not be read or restored, 10 no repository,',
    '11 repository locked, 12 wrong password, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM).',
    'Run "cairn COMMAND --help" for the options of a command.',
  ].join('\n');
}

function parse(cmdOptions: Record<string, OptionSpec>, argv: string[], command: string): Args {
  const spec = parseArgsSpec({ ...GLOBAL_OPTIONS, ...cmdOptions });
  try {
    const { values, positionals } = parseArgs({ args: argv, options: spec, allowPositionals: true, strict: true });
    return { values: values as Args['values'], positionals };
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify a positional.*$/s, ''), command);
  }
}

/** True once standard output was closed by its reader (e.g. `cairn ls latest | head`). */
let stdoutClosed = false;
let stdoutWatched = false;
/** Stops the running command when that happens. */
let onStdoutClosed: (() => void) | undefined;

/**
 * A reader that goes away (EPIPE) used to crash the CLI with an unhandled 'error' event and a stack
 * trace. Now the running command is stopped cleanly (locks released) and the CLI exits with 1 quietly.
 */
function watchStdout(): void {
  if (stdoutWatched) return;
  stdoutWatched = true;
  process.stdout.on('error', () => {
    stdoutClosed = true;
    onStdoutClosed?.();
  });
}

/** Runs the CLI with `argv` (without node and script); returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const code = await run(argv);
  return stdoutClosed ? EXIT.error : code;
}

async function run(argv: string[]): Promise<number> {
  const { name, rest } = splitCommand(argv);
  const abort = new AbortController();
  watchStdout();
  onStdoutClosed = () => abort.abort(new Error('standard output was closed'));
  let interrupts = 0;
  // SIGINT (Ctrl-C) exits 130; SIGTERM exits 143 (128 + signal number), as shells expect.
  let signalExit: number = EXIT.interrupted;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupts++;
    signalExit = sig === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted;
    if (interrupts === 1) {
      process.stderr.write(
        sig === 'SIGTERM'
          ? '\nterminated (SIGTERM): stopping cleanly (send SIGTERM again to force)\n'
          : '\ninterrupted: stopping cleanly (press Ctrl-C again to force)\n',
      );
      abort.abort(new Error(sig === 'SIGTERM' ? 'terminated' : 'interrupted'));
    } else {
      process.exit(signalExit);
    }
  };
  const onSigint = onSignal;
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  // Until the arguments parse, --json is only known from a scan: a usage error is JSON too then.
  let out = new Output({ json: wantsJson(argv), quiet: false, progress: true, verbose: false });
  let ctx: Context | undefined;
  try {
    if (!name) {
      const { values } = parse({}, rest, '');
      if (values.version) {
        process.stdout.write(`cairn ${VERSION}\n`);
        return EXIT.ok;
      }
      const help = await generalHelp();
      if (values.help) {
        process.stdout.write(`${help}\n`);
        return EXIT.ok;
      }
      if (out.json) throw new UsageError('missing command');
      process.stderr.write(`${help}\n`);
      return EXIT.error;
    }
    const cmd = await loadCommand(name);
    if (!cmd) throw new UsageError(`unknown command "${name}"`);
    const args = parse(cmd.options, rest, name);
    const v = args.values;
    const globals: GlobalOptions = {
      repo: v.repo as string | undefined,
      cacheDir: v['cache-dir'] as string | undefined,
      passwordFile: v['password-file'] as string | undefined,
      passwordCommand: v['password-command'] as string | undefined,
      json: v.json === true,
      quiet: v.quiet === true,
      noProgress: v['no-progress'] === true,
      verbose: v.verbose === true,
    };
    out = new Output({
      json: globals.json,
      quiet: globals.quiet,
      progress: !globals.noProgress,
      verbose: globals.verbose,
    });
    if (v.help) {
      process.stdout.write(`${commandHelp(cmd)}\n`);
      return EXIT.ok;
    }
    if (v.version) {
      process.stdout.write(`cairn ${VERSION}\n`);
      return EXIT.ok;
    }
    const conflict = passwordSourceConflict({ file: globals.passwordFile, command: globals.passwordCommand });
    if (conflict) throw new UsageError(conflict, name);
    ctx = new Context(globals, out, abort.signal);
    return (await cmd.run(ctx, args)) ?? EXIT.ok;
  } catch (err) {
    // Stopped by a signal: the code of that signal, in the JSON error event too.
    return report(err, out, name, signalExit);
  } finally {
    out.clearBar();
    await ctx?.close().catch(() => {});
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
    onStdoutClosed = undefined;
  }
}

/** True when `argv` asks for --json (before any `--`), whether or not the rest of it parses. */
function wantsJson(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

/** Reports what stopped the command; `interruptedExit`: the exit code of a cancellation (130 or 143). */
async function report(
  err: unknown,
  out: Output,
  name: string | undefined,
  interruptedExit: number = EXIT.interrupted,
): Promise<number> {
  if (stdoutClosed) return EXIT.error; // the reader left: nothing to tell it
  if (err instanceof UsageError) {
    if (out.json) {
      out.printJson({
        type: 'error',
        operation: err.command || 'cairn',
        fatal: true,
        code: err.code,
        message: err.message,
        exitCode: EXIT.error,
      });
    }
    process.stderr.write(`cairn: ${err.message}\n`);
    const cmd = err.command ? await loadCommand(err.command) : undefined;
    process.stderr.write(`${cmd ? commandHelp(cmd) : 'Run "cairn --help" for the list of commands.'}\n`);
    return EXIT.error;
  }
  let code = exitCodeFor(err);
  if (code === EXIT.interrupted) code = interruptedExit;
  const message = err instanceof Error ? err.message : String(err);
  if (out.json) {
    out.printJson({
      type: 'error',
      operation: name ?? 'cairn',
      fatal: true,
      code: isCairnError(err) ? err.code : 'INTERNAL',
      message,
      exitCode: code,
    });
  }
  out.warn(`cairn: ${isCairnError(err) ? '' : 'internal error: '}${message}`);
  // The stack's first line repeats the message printed above.
  if (out.options.verbose && err instanceof Error && err.stack) out.warn(err.stack.split('\n').slice(1).join('\n'));
  return code;
}
