/**
 * Exclude rules, as restic users know them: a pattern without a slash matches a name at any depth
 * (`*.tmp`, `node_modules`); a pattern with a slash matches the absolute path (`/var/cache/**`,
 * `/home/*\/Downloads`); `**` crosses folders. Excluding a directory excludes everything in it.
 * Exclude files hold one pattern per line; blank lines and lines starting with `#` are ignored.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type picomatchType from 'picomatch';
import { CairnError } from '../errors.js';

/**
 * Decides whether an absolute path is excluded. `matchesNothing` is set when there are no
 * patterns, so walkers can skip building the path strings the matcher would ignore.
 */
export type ExcludeMatcher = ((absolutePath: string, name: string) => boolean) & { matchesNothing?: boolean };

/** Loaded on first use: most backups have no excludes, and every command pays for imports. */
let picomatchFn: typeof picomatchType | undefined;
function picomatch(pattern: string, options: picomatchType.PicomatchOptions): picomatchType.Matcher {
  picomatchFn ??= createRequire(import.meta.url)('picomatch') as typeof picomatchType;
  return picomatchFn(pattern, options);
}

/** Builds a matcher from patterns; throws INVALID_ARGUMENT for an empty pattern. */
export function compileExcludes(patterns: readonly string[]): ExcludeMatcher {
  const byName: picomatchType.Matcher[] = [];
  const byPath: picomatchType.Matcher[] = [];
  for (const raw of patterns) {
    const p = raw.trim();
    if (!p) throw new CairnError('INVALID_ARGUMENT', 'empty exclude pattern');
    const stripped = p.endsWith('/') && p.length > 1 ? p.slice(0, -1) : p;
    if (stripped.includes('/')) byPath.push(picomatch(stripped, { dot: true }));
    else byName.push(picomatch(stripped, { dot: true }));
  }
  if (byName.length === 0 && byPath.length === 0) return Object.assign(() => false, { matchesNothing: true });
  return (absolutePath, name) => byName.some((m) => m(name)) || byPath.some((m) => m(absolutePath));
}

/** Reads patterns from exclude files. */
export async function readExcludeFiles(files: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const f of files) {
    let text: string;
    try {
      text = await readFile(f, 'utf8');
    } catch (err) {
      throw new CairnError('NOT_FOUND', `cannot read exclude file ${f}: ${(err as Error).message}`, { cause: err });
    }
    for (const line of text.split(/\r?\n/)) {
      const t = line.trim();
      if (t && !t.startsWith('#')) out.push(t);
    }
  }
  return out;
}
