import { describe, expect, it } from 'vitest';
import { type ChunkerOptions, chunkStream, fastcdc } from '../../src/chunking/index.js';
import { CairnError } from '../../src/errors.js';
import { mixedData, prng, randomSplit, referenceFastcdc, sameBytes } from './reference.js';

const strip = (cuts: { offset: number; length: number; hash: bigint }[]) =>
  cuts.map(({ offset, length, hash }) => ({ offset, length, hash }));

async function collect(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options: ChunkerOptions) {
  const out = [];
  for await (const c of chunkStream(source, options)) out.push(c);
  return out;
}

async function* slowly(pieces: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const p of pieces) {
    await Promise.resolve();
    yield p;
  }
}

// Odd sizes, every normalization level and seeds exercise the pair/parity rules.
const PARAMS: ChunkerOptions[] = [
  { min: 64, avg: 256, max: 1024 },
  { min: 65, avg: 255, max: 1023, seed: 666n },
  { min: 64, avg: 300, max: 1001, normalization: 0 },
  { min: 128, avg: 1024, max: 4097, normalization: 2, seed: 0xdeadbeefcafef00dn },
  { min: 999, avg: 4096, max: 8191, normalization: 3, seed: -12345n },
  { min: 4096, avg: 16384, max: 65535 },
];

describe('fastcdc matches the literal BigInt port of the note', () => {
  it.each(PARAMS.map((p, i) => [i, p] as const))('parameter set %i on mixed data', (i, p) => {
    const data = mixedData(Math.max(200_000, 40 * p.avg), 100 + i);
    const got = fastcdc(data, p);
    expect(strip(got)).toEqual(referenceFastcdc(data, p));
    // Some chunks must end at max (runs of equal bytes, up to 20000 long) and many by content.
    if (p.max < 20000) expect(got.some((c) => c.length === p.max)).toBe(true);
    expect(got.filter((c) => c.length < p.max).length).toBeGreaterThan(10);
  });

  it('seeds change the boundaries', () => {
    const data = mixedData(100_000, 7);
    const a = fastcdc(data, { min: 64, avg: 256, max: 1024 });
    const b = fastcdc(data, { min: 64, avg: 256, max: 1024, seed: 1n });
    expect(strip(a)).not.toEqual(strip(b));
    expect(strip(b)).toEqual(referenceFastcdc(data, { min: 64, avg: 256, max: 1024, seed: 1n }));
  });

  it('empty input gives no chunks; input up to min gives one chunk with hash 0', () => {
    const p = { min: 64, avg: 256, max: 1024 };
    expect(fastcdc(new Uint8Array(0), p)).toEqual([]);
    for (const n of [1, 63, 64])
      expect(fastcdc(new Uint8Array(n).fill(7), p)).toEqual([{ offset: 0, length: n, hash: 0n }]);
    const d = mixedData(65, 3);
    expect(strip(fastcdc(d, p))).toEqual(referenceFastcdc(d, p));
  });

  it('chunks larger than the one-shot window (256 KiB) and data far larger than max', () => {
    const p = { min: 64 * 1024, avg: 1 << 20, max: 4 << 20 };
    const data = mixedData(12 << 20, 11);
    const got = fastcdc(data, p);
    expect(got.reduce((s, c) => s + c.length, 0)).toBe(data.length);
    const slow = referenceFastcdc(data.subarray(0, 3 << 20), p);
    expect(strip(got.slice(0, slow.length - 1))).toEqual(slow.slice(0, -1));
  });
});

describe('chunkStream', () => {
  it.each(PARAMS.map((p, i) => [i, p] as const))(
    'yields what fastcdc yields for random splits (set %i)',
    async (i, p) => {
      const rand = prng(1000 + i);
      for (let round = 0; round < 6; round++) {
        const data = mixedData(Math.floor(rand() * 150_000), 10 * i + round);
        const want = strip(fastcdc(data, p));
        const pieces = randomSplit(data, rand, round % 2 ? 300 : 70_000);
        const got = await collect(round % 3 ? pieces : slowly(pieces), p);
        expect(strip(got)).toEqual(want);
        for (const c of got) expect(sameBytes(c.data, data.subarray(c.offset, c.offset + c.length))).toBe(true);
      }
    },
  );

  it('keeps yielded data valid after the consumer moves on', async () => {
    const data = mixedData(300_000, 5);
    const p = { min: 64, avg: 256, max: 1024, bufferSize: 1024 + 65536 };
    const got = await collect(randomSplit(data, prng(9), 5000), p);
    for (const c of got) expect(sameBytes(c.data, data.subarray(c.offset, c.offset + c.length))).toBe(true);
  });

  it('handles empty sources, empty pieces and inputs shorter than min', async () => {
    const p = { min: 64, avg: 256, max: 1024 };
    expect(await collect([], p)).toEqual([]);
    expect(await collect([new Uint8Array(0), new Uint8Array(0)], p)).toEqual([]);
    const short = await collect([new Uint8Array([1, 2]), new Uint8Array(0), new Uint8Array([3])], p);
    expect(short).toEqual([{ offset: 0, length: 3, hash: 0n, data: new Uint8Array([1, 2, 3]) }]);
  });

  it('a single piece much larger than the buffer', async () => {
    const data = mixedData(2_000_000, 8);
    const p = { min: 64, avg: 256, max: 1024, bufferSize: 70_000 };
    expect(strip(await collect([data], p))).toEqual(strip(fastcdc(data, p)));
  });

  it('stops with ABORTED when the signal fires, and closes the source', async () => {
    const data = mixedData(100_000, 4);
    let closed = false;
    async function* source() {
      try {
        for (let off = 0; off < data.length; off += 1000) yield data.subarray(off, off + 1000);
      } finally {
        closed = true;
      }
    }
    const controller = new AbortController();
    const seen = [];
    let caught: unknown;
    try {
      for await (const c of chunkStream(source(), { min: 64, avg: 256, max: 1024, signal: controller.signal })) {
        seen.push(c);
        if (seen.length === 3) controller.abort(new Error('stop'));
      }
    } catch (err) {
      caught = err;
    }
    expect(seen).toHaveLength(3);
    expect(caught).toBeInstanceOf(CairnError);
    expect((caught as CairnError).code).toBe('ABORTED');
    expect(closed).toBe(true);
  });

  it('an already-aborted signal throws before reading', async () => {
    let read = false;
    const source = {
      async *[Symbol.asyncIterator]() {
        read = true;
        yield new Uint8Array(10);
      },
    };
    const signal = AbortSignal.abort();
    await expect(collect(source, { min: 64, avg: 256, max: 1024, signal } as ChunkerOptions)).rejects.toMatchObject({
      code: 'ABORTED',
    });
    expect(read).toBe(false);
  });
});
