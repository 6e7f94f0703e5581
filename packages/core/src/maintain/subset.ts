/**
 * Which packs a partial `verify --read-data-subset` reads: "P%" and "K/N" are deterministic (chosen
 * by pack id, so a daily cron job with K = day-of-cycle covers the whole repository every N days);
 * "random:P%" draws a fresh random sample each run.
 */
import { randomInt } from 'node:crypto';
import { CairnError } from '../errors.js';

export type PackSubset =
  | { kind: 'all' }
  | { kind: 'fraction'; percent: number }
  | { kind: 'slice'; k: number; n: number }
  | { kind: 'random'; percent: number };

function percent(text: string, original: string): number {
  const p = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !(p > 0 && p <= 100)) {
    throw new CairnError('INVALID_ARGUMENT', `read-data subset "${original}": the percentage must be in (0, 100]`);
  }
  return p;
}

/** Parses "P%", "K/N" or "random:P%" (undefined = all). */
export function parseSubset(text: string | undefined): PackSubset {
  if (text === undefined || text === '' || text === 'all') return { kind: 'all' };
  const random = /^random:(.+)%$/.exec(text);
  if (random) return { kind: 'random', percent: percent(random[1]!, text) };
  const frac = /^(.+)%$/.exec(text);
  if (frac) return { kind: 'fraction', percent: percent(frac[1]!, text) };
  const slice = /^(\d+)\/(\d+)$/.exec(text);
  if (slice) {
    const k = Number(slice[1]);
    const n = Number(slice[2]);
    if (n >= 1 && k >= 1 && k <= n) return { kind: 'slice', k, n };
  }
  throw new CairnError(
    'INVALID_ARGUMENT',
    `read-data subset "${text}" is not "P%", "K/N" (1 <= K <= N) or "random:P%"`,
  );
}

/** The first 8 hex digits of a pack id as a number in [0, 2^32). */
const bucket = (packId: string) => Number.parseInt(packId.slice(0, 8), 16);

/** The packs of `ids` that `subset` selects. */
export function selectPacks(ids: string[], subset: PackSubset): string[] {
  switch (subset.kind) {
    case 'all':
      return ids;
    case 'fraction':
      return ids.filter((id) => bucket(id) < (subset.percent / 100) * 2 ** 32);
    case 'slice':
      return ids.filter((id) => bucket(id) % subset.n === subset.k - 1);
    case 'random': {
      const want = Math.min(ids.length, Math.ceil((ids.length * subset.percent) / 100));
      const pool = [...ids];
      for (let i = pool.length - 1; i > 0; i--) {
        const j = randomInt(i + 1);
        [pool[i], pool[j]] = [pool[j]!, pool[i]!];
      }
      return pool.slice(0, want).sort();
    }
  }
}
