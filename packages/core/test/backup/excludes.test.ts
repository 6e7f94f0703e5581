/**
 * compileExcludes against restic: a walk of a fixed tree (excluded directories are not entered,
 * as in the backup) keeps what `restic backup --exclude …` 0.14 kept of the same tree, pattern
 * for pattern. The expectations were recorded with restic 0.14.0, backing up /tmp/fx/src.
 */
import { describe, expect, it } from 'vitest';
import { compileExcludes, type ExcludeMatcher } from '../../src/backup/excludes.js';

const SRC = '/tmp/fx/src';
/** The tree under SRC: directories end with '/'. */
const TREE = [
  'a/',
  'a/f.txt',
  'a/g.bin',
  'd/',
  'd/x.txt',
  'd/y.bin',
  'ex/',
  'ex/a/',
  'ex/a/cache/',
  'ex/a/cache/deep/',
  'ex/a/cache/deep/f',
  'keep/',
  'keep/a.txt',
  'keep/b.log',
  'other/',
  'other/cache/',
  'other/cache/g',
  'top.txt',
];
const ALL = TREE.map((p) => p.replace(/\/$/, '')).join(' ');

/** What a walk of SRC keeps: relative paths, in order, space-separated. */
function walk(exclude: ExcludeMatcher): string {
  const kept: string[] = [];
  const visit = (dir: string) => {
    for (const entry of TREE) {
      const rel = entry.replace(/\/$/, '');
      const parent = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '';
      if (parent !== dir) continue;
      const name = rel.slice(rel.lastIndexOf('/') + 1);
      if (exclude(`${SRC}/${rel}`, name)) continue;
      kept.push(rel);
      if (entry.endsWith('/')) visit(rel);
    }
  };
  visit('');
  return kept.join(' ');
}

const keeps = (patterns: string[]) => walk(compileExcludes(patterns, [SRC]));

/** [patterns, what restic 0.14 kept below the source path]. */
const RESTIC: [string[], string][] = [
  [
    ['*.txt'],
    'a a/g.bin d d/y.bin ex ex/a ex/a/cache ex/a/cache/deep ex/a/cache/deep/f keep keep/b.log other other/cache other/cache/g',
  ],
  [
    ['a/cache'],
    'a a/f.txt a/g.bin d d/x.txt d/y.bin ex ex/a keep keep/a.txt keep/b.log other other/cache other/cache/g top.txt',
  ],
  [
    ['cache/*'],
    'a a/f.txt a/g.bin d d/x.txt d/y.bin ex ex/a ex/a/cache keep keep/a.txt keep/b.log other other/cache top.txt',
  ],
  [
    ['ex/a'],
    'a a/f.txt a/g.bin d d/x.txt d/y.bin ex keep keep/a.txt keep/b.log other other/cache other/cache/g top.txt',
  ],
  [
    ['fx/src/d'],
    'a a/f.txt a/g.bin ex ex/a ex/a/cache ex/a/cache/deep ex/a/cache/deep/f keep keep/a.txt keep/b.log other other/cache other/cache/g top.txt',
  ],
  [
    ['src/d'],
    'a a/f.txt a/g.bin ex ex/a ex/a/cache ex/a/cache/deep ex/a/cache/deep/f keep keep/a.txt keep/b.log other other/cache other/cache/g top.txt',
  ],
  [
    ['/tmp/fx/src/d'],
    'a a/f.txt a/g.bin ex ex/a ex/a/cache ex/a/cache/deep ex/a/cache/deep/f keep keep/a.txt keep/b.log other other/cache other/cache/g top.txt',
  ],
  [
    ['d/'],
    'a a/f.txt a/g.bin ex ex/a ex/a/cache ex/a/cache/deep ex/a/cache/deep/f keep keep/a.txt keep/b.log other other/cache other/cache/g top.txt',
  ],
  [
    ['a/cache/'],
    'a a/f.txt a/g.bin d d/x.txt d/y.bin ex ex/a keep keep/a.txt keep/b.log other other/cache other/cache/g top.txt',
  ],
  [['**/cache/**'], 'a a/f.txt a/g.bin d d/x.txt d/y.bin ex ex/a keep keep/a.txt keep/b.log other top.txt'],
  [['cache'], 'a a/f.txt a/g.bin d d/x.txt d/y.bin ex ex/a keep keep/a.txt keep/b.log other top.txt'],
  [['cache/'], 'a a/f.txt a/g.bin d d/x.txt d/y.bin ex ex/a keep keep/a.txt keep/b.log other top.txt'],
  [
    ['/tmp/fx/src/*/cache'],
    'a a/f.txt a/g.bin d d/x.txt d/y.bin ex ex/a ex/a/cache ex/a/cache/deep ex/a/cache/deep/f keep keep/a.txt keep/b.log other top.txt',
  ],
  [
    ['**/*.txt'],
    'a a/g.bin d d/y.bin ex ex/a ex/a/cache ex/a/cache/deep ex/a/cache/deep/f keep keep/b.log other other/cache other/cache/g',
  ],
  [
    ['/tmp/fx/src/ex/'],
    'a a/f.txt a/g.bin d d/x.txt d/y.bin keep keep/a.txt keep/b.log other other/cache other/cache/g top.txt',
  ],
  // `!`: the last matching pattern decides; an excluded directory is not entered.
  [['!*.txt'], ALL],
  [
    ['*.txt', '!a.txt'],
    'a a/g.bin d d/y.bin ex ex/a ex/a/cache ex/a/cache/deep ex/a/cache/deep/f keep keep/a.txt keep/b.log other other/cache other/cache/g',
  ],
  [
    ['!a.txt', '*.txt'],
    'a a/g.bin d d/y.bin ex ex/a ex/a/cache ex/a/cache/deep ex/a/cache/deep/f keep keep/b.log other other/cache other/cache/g',
  ],
  [
    ['d', '!d/x.txt'],
    'a a/f.txt a/g.bin ex ex/a ex/a/cache ex/a/cache/deep ex/a/cache/deep/f keep keep/a.txt keep/b.log other other/cache other/cache/g top.txt',
  ],
  [
    ['keep', '!keep/a.txt'],
    'a a/f.txt a/g.bin d d/x.txt d/y.bin ex ex/a ex/a/cache ex/a/cache/deep ex/a/cache/deep/f other other/cache other/cache/g top.txt',
  ],
  [['/tmp/fx/src/*', '!/tmp/fx/src/keep'], 'keep keep/a.txt keep/b.log'],
  [['/tmp/fx/src/*', '!/tmp/fx/src/keep/a.txt'], ''],
  [
    ['keep', '!keep', 'b.log'],
    'a a/f.txt a/g.bin d d/x.txt d/y.bin ex ex/a ex/a/cache ex/a/cache/deep ex/a/cache/deep/f keep keep/a.txt other other/cache other/cache/g top.txt',
  ],
  [['*.log', '!keep/*.log'], ALL],
  [['*.log', '!src/keep/b.log'], ALL],
  [
    ['!x', 'ex'],
    'a a/f.txt a/g.bin d d/x.txt d/y.bin keep keep/a.txt keep/b.log other other/cache other/cache/g top.txt',
  ],
  [
    ['ex', '!x'],
    'a a/f.txt a/g.bin d d/x.txt d/y.bin keep keep/a.txt keep/b.log other other/cache other/cache/g top.txt',
  ],
  // A `!` pattern matching a directory matches everything in it: `*.txt` is undone inside.
  [
    ['a', '*.txt', '!a'],
    'a a/f.txt a/g.bin d d/y.bin ex ex/a ex/a/cache ex/a/cache/deep ex/a/cache/deep/f keep keep/b.log other other/cache other/cache/g',
  ],
  [['a', '*.txt', '!src/a'], 'a a/f.txt a/g.bin d d/y.bin ex keep keep/b.log other other/cache other/cache/g'],
  // ...also when it matches the source path or a directory above it.
  [['*.txt', '!/tmp/fx/src'], ALL],
  [['*.txt', '!/tmp/fx'], ALL],
  [['*.txt', '!fx/src'], ALL],
  // No pattern means "everything except": only the first `!` negates, extglobs are literal.
  [['!!a.txt'], ALL],
  [['!(*.txt)'], ALL],
  [['@(d)'], ALL],
  [['+(d)'], ALL],
  [['keep/!(a.txt)'], ALL],
  [['*.@(txt)'], ALL],
  [['keep/+(a).txt'], ALL],
];

describe('compileExcludes', () => {
  it.each(RESTIC)('%j keeps what restic keeps', (patterns, kept) => {
    expect(keeps(patterns)).toBe(kept);
  });

  it('never excludes for a pattern that matches a source path (restic would exclude the whole source)', () => {
    // restic 0.14 keeps nothing of the source for these; Cairn backs up every path it is given.
    expect(keeps(['src'])).toBe(ALL);
    expect(keeps(['/tmp/fx'])).toBe(ALL);
    // Positive patterns on the source do not count; those on its content do.
    expect(keeps(['*', '!*.txt'])).toBe('top.txt');
    expect(keeps(['src', '*.bin', '!/tmp/fx/src/a'])).toBe(
      'a a/f.txt a/g.bin d d/x.txt ex ex/a ex/a/cache ex/a/cache/deep ex/a/cache/deep/f keep keep/a.txt keep/b.log other other/cache other/cache/g top.txt',
    );
  });

  it('matches relative patterns with a slash at any depth, and names with spaces', () => {
    const m = compileExcludes(['a/cache', 'cache/*', 'my docs/*.tmp', '/abs/x']);
    expect(m('/x/ex/a/cache', 'cache')).toBe(true);
    expect(m('/a/cache', 'cache')).toBe(true);
    expect(m('/x/ba/cache', 'cache')).toBe(false); // whole components only
    expect(m('/x/a/cache2', 'cache2')).toBe(false);
    expect(m('/y/cache/z', 'z')).toBe(true);
    expect(m('/y/cache', 'cache')).toBe(false);
    expect(m('/h/my docs/a.tmp', 'a.tmp')).toBe(true);
    expect(m('/abs/x', 'x')).toBe(true);
    expect(m('/other/abs/x', 'x')).toBe(false); // a leading slash anchors
  });

  it('rejects an empty pattern and a lone "!" as INVALID_ARGUMENT', () => {
    for (const bad of ['', '  ', '!', '! ']) {
      expect(() => compileExcludes([bad])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
  });

  it('remembers a bounded number of directories and answers the same after forgetting them', () => {
    const m = compileExcludes(['*.txt', '!keep'], ['/s']);
    for (let i = 0; i < 10_000; i++) expect(m(`/s/d${i}/f.txt`, 'f.txt')).toBe(true);
    expect(m('/s/keep/sub/f.txt', 'f.txt')).toBe(false);
    for (let i = 0; i < 10_000; i++) expect(m(`/s/keep/d${i}/f.txt`, 'f.txt')).toBe(false);
  });
});
