/**
 * Exclude rules, as restic users know them (`docs/operator-guide.md`, "Excludes"):
 *
 * - A pattern without a slash matches a name at any depth (`*.tmp`, `node_modules`).
 * - A pattern starting with `/` matches the absolute path (`/var/cache`, `/home/*\/Downloads`).
 * - Any other pattern with a slash matches the trailing components of the path, at any depth, as
 *   if it started with `**\/`: `a/cache` matches `/x/a/cache`, `cache/*` whatever is in a
 *   directory named `cache` (not the directory itself).
 * - `*` and `?` never cross a slash; `**` as a whole component crosses any number of them.
 * - A trailing `/` is ignored: `cache/` also matches a file named `cache`.
 * - Excluding a directory excludes everything in it; it is not read, so nothing in it can be
 *   included again.
 * - A pattern starting with `!` re-includes what patterns before it excluded: of the patterns
 *   that match a path, the last one decides (a `!` pattern alone excludes nothing). A pattern that
 *   matches a directory matches everything in it too: `*.tmp` then `!/srv/keep` keeps the `.tmp`
 *   files under `/srv/keep`. Only the first `!` negates (`!!x` re-includes names `!x`).
 * - The paths given to back up are never excluded; a pattern that would exclude one of them (or a
 *   directory above it) has no effect, while a `!` pattern matching it applies to its content.
 *
 * Matching is picomatch's, with its leading-`!` negation and its extglobs (`!(…)`, `+(…)`…) off,
 * so no pattern can mean "everything except". Exclude files hold one pattern per line; blank lines
 * and lines starting with `#` are ignored.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type picomatchType from 'picomatch';
import { CairnError } from '../errors.js';

/**
 * Decides whether an entry, given by its absolute path and its name, is excluded, its parent
 * directory not being excluded (walkers never list an excluded directory). `matchesNothing` is set
 * when there are no patterns, so walkers can skip building the path strings the matcher would
 * ignore.
 */
export type ExcludeMatcher = ((absolutePath: string, name: string) => boolean) & { matchesNothing?: boolean };

/** Loaded on first use: most backups have no excludes, and every command pays for imports. */
let picomatchFn: typeof picomatchType | undefined;
function picomatch(pattern: string, options: picomatchType.PicomatchOptions): picomatchType.Matcher {
  picomatchFn ??= createRequire(import.meta.url)('picomatch') as typeof picomatchType;
  return picomatchFn(pattern, options);
}

/** No leading-`!` negation and no extglobs: `!(x)` would otherwise exclude everything but `x`. */
const PICOMATCH_OPTIONS: picomatchType.PicomatchOptions = { dot: true, nonegate: true, noextglob: true };

interface Rule {
  /** A `!` pattern: re-includes. */
  negated: boolean;
  /** Matched against the name (no slash in the pattern), else against the absolute path. */
  byName: boolean;
  test: picomatchType.Matcher;
}

function compileRule(raw: string): Rule {
  const p = raw.trim();
  if (!p) throw new CairnError('INVALID_ARGUMENT', 'empty exclude pattern');
  const negated = p.startsWith('!');
  let body = negated ? p.slice(1) : p;
  while (body.length > 1 && body.endsWith('/')) body = body.slice(0, -1);
  if (!body) {
    const message = `exclude pattern ${JSON.stringify(raw)} has no pattern after the "!"`;
    throw new CairnError('INVALID_ARGUMENT', message, { details: { pattern: raw } });
  }
  const byName = !body.includes('/');
  const glob = byName || body.startsWith('/') || body.startsWith('**/') ? body : `**/${body}`;
  let test: picomatchType.Matcher;
  try {
    test = picomatch(glob, PICOMATCH_OPTIONS);
  } catch (err) {
    const message = `invalid exclude pattern ${JSON.stringify(raw)}: ${(err as Error).message}`;
    throw new CairnError('INVALID_ARGUMENT', message, { cause: err, details: { pattern: raw } });
  }
  return { negated, byName, test };
}

const parentOf = (path: string): string => {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
};
const nameOf = (path: string): string => path.slice(path.lastIndexOf('/') + 1);

/** Directories whose inherited match is remembered, at most (recomputed when forgotten). */
const MEMO_LIMIT = 4096;

/**
 * Builds a matcher from patterns; throws INVALID_ARGUMENT for an empty pattern (or a lone `!`).
 * `sources`: the absolute paths backed up (see the rules above); without them, every directory
 * above an entry counts as for restic.
 */
export function compileExcludes(patterns: readonly string[], sources: readonly string[] = []): ExcludeMatcher {
  const rules = patterns.map(compileRule);
  if (rules.length === 0) return Object.assign(() => false, { matchesNothing: true });
  if (!rules.some((r) => r.negated)) {
    // Without `!` patterns, any match excludes (and every directory walked matched nothing).
    return (absolutePath, name) => rules.some((r) => r.test(r.byName ? name : absolutePath));
  }

  /** Index of the last pattern matching this path itself, -1 if none (`!` patterns only: `onlyNegated`). */
  const lastMatch = (path: string, name: string, onlyNegated = false): number => {
    for (let i = rules.length - 1; i >= 0; i--) {
      const r = rules[i]!;
      if ((!onlyNegated || r.negated) && r.test(r.byName ? name : path)) return i;
    }
    return -1;
  };
  const roots = new Set(sources.map((s) => s.replace(/\/+$/, '') || '/'));
  /**
   * For a directory being walked: the last pattern matching it or a directory above it (-1 if
   * none), which then also matches everything in it. Above a source path, and for the source path
   * itself, only `!` patterns count (a source path is never excluded).
   */
  const memo = new Map<string, number>();
  const inherited = (dir: string): number => {
    const chain: string[] = [];
    let d = dir;
    let found = -1;
    for (;;) {
      const known = memo.get(d);
      if (known !== undefined) {
        found = known;
        break;
      }
      if (d === '/') break;
      if (roots.has(d)) {
        for (let a = d; a !== '/'; a = parentOf(a)) found = Math.max(found, lastMatch(a, nameOf(a), true));
        if (memo.size >= MEMO_LIMIT) memo.clear();
        memo.set(d, found);
        break;
      }
      chain.push(d);
      d = parentOf(d);
    }
    for (let i = chain.length - 1; i >= 0; i--) {
      const c = chain[i]!;
      found = Math.max(found, lastMatch(c, nameOf(c)));
      if (memo.size >= MEMO_LIMIT) memo.clear();
      memo.set(c, found);
    }
    return found;
  };
  return (absolutePath, name) => {
    const last = Math.max(lastMatch(absolutePath, name), inherited(parentOf(absolutePath)));
    return last >= 0 && !rules[last]!.negated;
  };
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
