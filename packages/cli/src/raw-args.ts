/**
 * Command-line arguments as the bytes they were given. Node decodes its arguments as UTF-8 and
 * turns bytes that are not UTF-8 into U+FFFD, so `bad\xff` and `bad\xfe` arrive as the same string:
 * an `--include` of one would select both. On Linux the exact bytes are in /proc/self/cmdline.
 */
import { readFileSync } from 'node:fs';
import { UsageError } from './usage-error.js';

/** Decoded argument (or the value of `--option=value`) → its bytes; null when two differ. */
let known: Map<string, Buffer | null> | undefined;

function readRawArguments(): Map<string, Buffer | null> {
  const out = new Map<string, Buffer | null>();
  let all: Buffer[];
  try {
    const cmdline = readFileSync('/proc/self/cmdline');
    all = [];
    let start = 0;
    for (let i = 0; i < cmdline.length; i++) {
      if (cmdline[i] === 0) {
        all.push(cmdline.subarray(start, i));
        start = i + 1;
      }
    }
  } catch {
    return out; // not Linux: arguments stay as Node decoded them
  }
  // The script's arguments are the last ones (Node's own options come before the script).
  const given = process.argv.slice(2);
  const raw = all.slice(all.length - given.length);
  if (raw.length !== given.length || raw.some((r, i) => r.toString('utf8') !== given[i])) return out;
  const add = (bytes: Buffer) => {
    const text = bytes.toString('utf8');
    if (Buffer.from(text).equals(bytes)) return; // valid UTF-8: the string is exact
    const seen = out.get(text);
    out.set(text, seen === undefined || seen?.equals(bytes) ? bytes : null);
  };
  for (const r of raw) {
    add(r);
    const eq = r.indexOf(0x3d); // --option=value
    if (r[0] === 0x2d && eq > 0) add(r.subarray(eq + 1));
  }
  return out;
}

/**
 * The bytes of an argument value whose text Node could not decode exactly (it holds U+FFFD), else
 * the value itself. Throws a usage error when two different arguments decode to the same text.
 */
export function exactArgument(value: string): string | Buffer {
  if (!value.includes('\uFFFD')) return value;
  known ??= readRawArguments();
  const bytes = known.get(value);
  if (bytes === null) {
    throw new UsageError(`two arguments that are not UTF-8 read alike ("${value}"): give them one per command`);
  }
  return bytes ?? value;
}
