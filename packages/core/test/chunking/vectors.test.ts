import { describe, expect, it } from 'vitest';
import { GEAR, MASKS } from '../../src/chunking/gear-table.js';
import { chunkStream, FastCdcChunker, fastcdc } from '../../src/chunking/index.js';
import { hasVectors, readVectorBytes, readVectorJson } from '../helpers/vectors.js';
import { referenceFastcdc, sameBytes } from './reference.js';

interface VectorCase {
  min: number;
  avg: number;
  max: number;
  level: 0 | 1 | 2 | 3;
  seed: string;
  chunks: { offset?: number; length: number; hash: string }[];
}
interface Vectors {
  file: string;
  cases: VectorCase[];
  zeros: { size: number; min: number; avg: number; max: number; length: number; hash: string };
}
interface Tables {
  gear: string[];
  masks: string[];
}

const simplify = (cuts: { offset: number; length: number; hash: bigint }[]) =>
  cuts.map((c) => ({ offset: c.offset, length: c.length, hash: c.hash.toString() }));

function expected(c: VectorCase) {
  let offset = 0;
  return c.chunks.map((k) => {
    if (k.offset !== undefined) expect(k.offset).toBe(offset); // the file's own consistency
    const e = { offset, length: k.length, hash: k.hash };
    offset += k.length;
    return e;
  });
}

const optionsOf = (c: VectorCase) => ({
  min: c.min,
  avg: c.avg,
  max: c.max,
  normalization: c.level,
  seed: BigInt(c.seed),
});

describe.skipIf(!hasVectors)('FastCDC 2020 vectors', () => {
  const vectors = hasVectors ? readVectorJson<Vectors>('fastcdc-2020.json') : undefined;
  const cases = vectors?.cases ?? [];
  const data = hasVectors ? readVectorBytes(vectors!.file) : new Uint8Array(0);

  it('constant tables match fastcdc-2020-tables.json', () => {
    const tables = readVectorJson<Tables>('fastcdc-2020-tables.json');
    expect(tables.gear).toHaveLength(256);
    expect([...GEAR]).toEqual(tables.gear.map((h) => BigInt(h)));
    expect([...MASKS]).toEqual(tables.masks.map((h) => BigInt(h)));
  });

  it('the input file is the expected one', () => {
    expect(data.length).toBe(109466);
  });

  it.each(cases.map((c, i) => [i, c] as const))('case %i: fastcdc gives every offset, length and hash', (_i, c) => {
    expect(simplify(fastcdc(data, optionsOf(c)))).toEqual(expected(c));
  });

  it.each(cases.map((c, i) => [i, c] as const))('case %i: the BigInt reference port agrees', (_i, c) => {
    expect(simplify(referenceFastcdc(data, optionsOf(c)))).toEqual(expected(c));
  });

  it.each(cases.map((c, i) => [i, c] as const))('case %i: chunkStream (4 KiB reads) agrees', async (_i, c) => {
    const pieces = Array.from({ length: Math.ceil(data.length / 4096) }, (_, k) =>
      data.subarray(k * 4096, (k + 1) * 4096),
    );
    const got = [];
    for await (const chunk of chunkStream(pieces, optionsOf(c))) {
      expect(sameBytes(chunk.data, data.subarray(chunk.offset, chunk.offset + chunk.length))).toBe(true);
      got.push(chunk);
    }
    expect(simplify(got)).toEqual(expected(c));
  });

  it.each(cases.map((c, i) => [i, c] as const))('case %i: FastCdcChunker with direct writes agrees', (_i, c) => {
    const chunker = new FastCdcChunker({ ...optionsOf(c), bufferSize: c.max + 65536 });
    const got = [];
    let off = 0;
    while (off < data.length) {
      const view = chunker.writable();
      const n = Math.min(view.length, data.length - off, 10007);
      view.set(data.subarray(off, off + n));
      chunker.commit(n);
      off += n;
      for (const chunk of chunker.chunks()) {
        expect(sameBytes(chunk.data, data.subarray(chunk.offset, chunk.offset + chunk.length))).toBe(true);
        got.push(chunk);
      }
    }
    chunker.finish();
    got.push(...chunker.chunks());
    expect(simplify(got)).toEqual(expected(c));
  });

  it('zeros: ten chunks of exactly max bytes, with the published hash', async () => {
    const z = vectors!.zeros;
    const zeros = new Uint8Array(z.size);
    const want = Array.from({ length: z.size / z.length }, (_, k) => ({
      offset: k * z.length,
      length: z.length,
      hash: z.hash,
    }));
    const opts = { min: z.min, avg: z.avg, max: z.max };
    expect(want).toHaveLength(10);
    expect(simplify(fastcdc(zeros, opts))).toEqual(want);
    expect(simplify(referenceFastcdc(zeros, opts))).toEqual(want);
    const streamed = [];
    for await (const c of chunkStream([zeros.subarray(0, 777), zeros.subarray(777)], opts)) streamed.push(c);
    expect(simplify(streamed)).toEqual(want);
  });
});
