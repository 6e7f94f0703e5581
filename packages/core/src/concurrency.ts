/**
 * Bounded concurrency for I/O loops (segments, snapshots, packs, lstat): several calls in flight,
 * optionally within a byte budget, the first failure stopping the rest.
 */
import { throwIfAborted } from './errors.js';

/**
 * Runs `fn` over `items`, at most `concurrency` at once and, beyond the first, within `budget`
 * (the sum of `cost` of the items in flight). The first failure aborts the others (through the
 * signal `fn` receives) and is thrown once every call has settled.
 */
export async function forEachBounded<T>(
  items: readonly T[],
  concurrency: number,
  budget: number,
  cost: (item: T) => number,
  fn: (item: T, signal: AbortSignal) => Promise<void>,
  outer?: AbortSignal,
): Promise<void> {
  if (items.length === 0) return;
  throwIfAborted(outer);
  const ac = new AbortController();
  const onAbort = () => ac.abort(outer?.reason);
  outer?.addEventListener('abort', onAbort, { once: true });
  let next = 0;
  let used = 0;
  let failed = false;
  let failure: unknown;
  let waiters: (() => void)[] = [];
  const wake = () => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };
  const worker = async () => {
    while (!failed && next < items.length) {
      throwIfAborted(outer);
      const item = items[next++]!;
      const c = Math.min(budget, Math.max(0, cost(item)));
      while (!failed && used > 0 && used + c > budget) await new Promise<void>((r) => waiters.push(r));
      if (failed) return;
      used += c;
      try {
        await fn(item, ac.signal);
      } finally {
        used -= c;
        wake();
      }
    }
  };
  try {
    await Promise.all(
      Array.from({ length: Math.min(concurrency, items.length) }, () =>
        worker().catch((err: unknown) => {
          if (!failed) {
            failed = true;
            failure = err;
            ac.abort(err);
            wake();
          }
        }),
      ),
    );
  } finally {
    outer?.removeEventListener('abort', onAbort);
  }
  if (failed) throw failure;
}

/** `forEachBounded` collecting results in order (no byte budget). */
export async function mapBounded<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, signal: AbortSignal) => Promise<R>,
  signal?: AbortSignal,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  await forEachBounded(
    items.map((_, i) => i),
    concurrency,
    1,
    () => 0,
    async (i, s) => {
      out[i] = await fn(items[i]!, s);
    },
    signal,
  );
  return out;
}
