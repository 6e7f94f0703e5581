import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type FastCdcChunk, FastCdcChunker, fastcdc } from '../../src/chunking/index.js';
import { CairnError } from '../../src/errors.js';
import { mixedData, prng, sameBytes } from './reference.js';

const strip = (cuts: { offset: number; length: number; hash: bigint }[]) =>
  cuts.map(({ offset, length, hash }) => ({ offset, length, hash }));

/** Checks each chunk's view right away (it is only valid until the next writable()). */
function take(chunker: FastCdcChunker, data: Uint8Array, into: FastCdcChunk[]): void {
  for (const c of chunker.chunks()) {
    expect(sameBytes(c.data, data.subarray(c.offset, c.offset + c.length))).toBe(true);
    into.push(c);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'cairn-chunker-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('FastCdcChunker', () => {
  it('reads a file directly into kernel memory with fs read()', async () => {
    const data = mixedData(3_000_000, 21);
    const path = join(dir, 'input.bin');
    writeFileSync(path, data);
    const p = { min: 2048, avg: 8192, max: 32768 };
    const chunker = new FastCdcChunker({ ...p, bufferSize: 32768 + 65536 });
    const got: FastCdcChunk[] = [];
    const file = await open(path, 'r');
    try {
      for (;;) {
        const view = chunker.writable();
        const { bytesRead } = await file.read(view, 0, view.length);
        if (bytesRead === 0) chunker.finish();
        else chunker.commit(bytesRead);
        take(chunker, data, got);
        if (bytesRead === 0) break;
      }
    } finally {
      await file.close();
    }
    expect(strip(got)).toEqual(strip(fastcdc(data, p)));
    expect(chunker.offset).toBe(data.length);
    expect(chunker.buffered).toBe(0);
  });

  it('gives the same chunks for any commit sizes, including 0 and 1, with compactions', () => {
    const data = mixedData(400_000, 22);
    const p = { min: 64, avg: 256, max: 1023, seed: 3n, bufferSize: 1023 + 65536 };
    const want = strip(fastcdc(data, p));
    const rand = prng(5);
    for (let round = 0; round < 4; round++) {
      const chunker = new FastCdcChunker(p);
      const got: FastCdcChunk[] = [];
      let off = 0;
      while (off < data.length) {
        const r = rand();
        const view = chunker.writable(round === 0 ? 1 : undefined);
        const n = Math.min(view.length, data.length - off, r < 0.2 ? 0 : r < 0.4 ? 1 : Math.floor(rand() * 5000));
        view.set(data.subarray(off, off + n));
        chunker.commit(n);
        off += n;
        take(chunker, data, got);
      }
      chunker.finish();
      take(chunker, data, got);
      expect(strip(got)).toEqual(want);
    }
  });

  it('write() copies what fits and reset() starts a new stream on the same memory', () => {
    const p = { min: 64, avg: 256, max: 1024 };
    const chunker = new FastCdcChunker(p);
    for (const seed of [1, 2]) {
      const data = mixedData(50_000 + seed, seed);
      const got: FastCdcChunk[] = [];
      let off = 0;
      while (off < data.length) {
        off += chunker.write(data.subarray(off, off + 7000));
        take(chunker, data, got);
      }
      chunker.finish();
      take(chunker, data, got);
      expect(strip(got)).toEqual(strip(fastcdc(data, p)));
      chunker.reset();
      expect(chunker.offset).toBe(0);
      expect(chunker.finished).toBe(false);
    }
  });

  it('holds back chunks until max bytes are buffered or the stream ends', () => {
    const chunker = new FastCdcChunker({ min: 64, avg: 256, max: 1024 });
    chunker.write(new Uint8Array(1023));
    expect(chunker.next()).toBeUndefined();
    chunker.write(new Uint8Array(1));
    expect(chunker.next()).toMatchObject({ offset: 0, length: 1024 });
    chunker.write(new Uint8Array(10));
    expect(chunker.next()).toBeUndefined();
    chunker.finish();
    expect(chunker.next()).toMatchObject({ offset: 1024, length: 10, hash: 0n });
    expect(chunker.next()).toBeUndefined();
  });

  it('empty stream: no chunks', () => {
    const chunker = new FastCdcChunker({ min: 64, avg: 256, max: 1024 });
    chunker.commit(0);
    chunker.finish();
    expect(chunker.next()).toBeUndefined();
  });

  it('reports misuse as INVALID_ARGUMENT', () => {
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        expect(err).toBeInstanceOf(CairnError);
        return (err as CairnError).code;
      }
      return 'no error';
    };
    const chunker = new FastCdcChunker({ min: 64, avg: 256, max: 1024, bufferSize: 1024 + 65536 });
    const free = chunker.writable().length;
    expect(code(() => chunker.commit(free + 1))).toBe('INVALID_ARGUMENT');
    expect(code(() => chunker.commit(-1))).toBe('INVALID_ARGUMENT');
    expect(code(() => chunker.commit(1.5))).toBe('INVALID_ARGUMENT');
    chunker.commit(free); // full, chunks not drained
    expect(code(() => chunker.writable())).toBe('INVALID_ARGUMENT');
    chunker.finish();
    expect(code(() => chunker.commit(0))).toBe('INVALID_ARGUMENT');
    expect(code(() => chunker.writable())).toBe('INVALID_ARGUMENT');
  });
});
