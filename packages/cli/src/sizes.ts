/** Parses sizes given on the command line: "4096", "64K", "1MiB", "16M", "2g". */
import { UsageError } from './usage-error.js';

const FACTORS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

export function parseSize(text: string, what: string): number {
  const m = /^(\d+)\s*([kmgt]?)(i?b)?$/i.exec(text.trim());
  if (!m) throw new UsageError(`${what}: "${text}" is not a size (examples: 4096, 64K, 1MiB)`);
  return Number(m[1]) * FACTORS[m[2]!.toLowerCase()]!;
}
