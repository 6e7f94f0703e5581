/**
 * The command contract. Each file in `commands/` default-exports one {@link Command}; `main` finds
 * a command by file name, so adding a command is adding one file.
 */
import type { Context } from './context.js';

/** One option of a command (parsed with node:util parseArgs). */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** Placeholder shown in help, e.g. "GLOB". */
  value?: string;
  help: string;
}

/** Parsed arguments of a command. */
export interface Args {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
}

export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Usage after "cairn", e.g. "backup [options] PATH...". */
  usage: string;
  /** Longer help text (optional). */
  description?: string;
  options: Record<string, OptionSpec>;
  /** Runs the command; returns the exit code (default 0). */
  run(ctx: Context, args: Args): Promise<number | undefined>;
}

/** A string option's value (last one wins). */
export function str(args: Args, name: string): string | undefined {
  const v = args.values[name];
  if (Array.isArray(v)) return v[v.length - 1] as string | undefined;
  return typeof v === 'string' ? v : undefined;
}

/** A repeatable string option's values. */
export function list(args: Args, name: string): string[] {
  const v = args.values[name];
  if (Array.isArray(v)) return v.map(String);
  return typeof v === 'string' ? [v] : [];
}

/** A boolean option. */
export function flag(args: Args, name: string): boolean {
  return args.values[name] === true;
}
