/**
 * Chunking micro-benchmarks: Cairn's FastCDC 2020 (one-shot `fastcdc`, the zero-copy
 * `FastCdcChunker` fed 1 MiB writes, and `chunkStream` over 1 MiB pieces) against an outside
 * Rust-WebAssembly FastCDC (@dstanesc/wasm-chunking-fastcdc-node, which wraps the fastcdc crate),
 * at average sizes 16 KiB, 64 KiB and 1 MiB with min = avg / 4 and max = avg * 4.
 */
import { chunkStream, FastCdcChunker, fastcdc } from '@cairn/core';
import { compute_chunks } from '@dstanesc/wasm-chunking-fastcdc-node';
import type { BenchCase, Dataset } from '../harness.js';
import type { MicroSuite } from './index.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const PIECE = MiB;
const SIZES = [16 * KiB, 64 * KiB, MiB];

const label = (avg: number) => (avg >= MiB ? `${avg / MiB}M` : `${avg / KiB}K`);

/** Chunk-size distribution for the notes column. */
function stats(lengths: number[]): Record<string, unknown> {
  const n = lengths.length;
  if (n === 0) return { chunks: 0 };
  const mean = lengths.reduce((s, x) => s + x, 0) / n;
  const variance = lengths.reduce((s, x) => s + (x - mean) ** 2, 0) / n;
  return {
    chunks: n,
    mean: Math.round(mean),
    stddev: Math.round(Math.sqrt(variance)),
    min: Math.min(...lengths),
    max: Math.max(...lengths),
  };
}

function cases(dataset: Dataset, avg: number): BenchCase[] {
  const opts = { min: avg / 4, avg, max: avg * 4 };
  const { data } = dataset;
  const sizes = `avg ${label(avg)}`;
  let lengths: number[] = [];
  let count = 0;

  // One chunker per case, reused across runs (as the backup pipeline reuses one per worker).
  const chunker = new FastCdcChunker(opts);
  const streamed = () => {
    chunker.reset();
    let n = 0;
    let off = 0;
    while (off < data.length) {
      const view = chunker.writable();
      const len = Math.min(view.length, PIECE, data.length - off);
      view.set(data.subarray(off, off + len));
      chunker.commit(len);
      off += len;
      while (chunker.next()) n++;
    }
    chunker.finish();
    while (chunker.next()) n++;
    return n;
  };

  return [
    {
      group: 'chunking',
      name: `cairn fastcdc ${sizes}`,
      dataset,
      run: () => {
        lengths = fastcdc(data, opts).map((c) => c.length);
      },
      extra: () => stats(lengths),
    },
    {
      group: 'chunking',
      name: `cairn FastCdcChunker 1MiB writes ${sizes}`,
      dataset,
      run: () => {
        count = streamed();
      },
      extra: () => ({ chunks: count, bufferMiB: chunker.bufferSize / MiB }),
    },
    {
      group: 'chunking',
      name: `cairn chunkStream 1MiB pieces ${sizes}`,
      dataset,
      run: async () => {
        const pieces = function* () {
          for (let off = 0; off < data.length; off += PIECE) yield data.subarray(off, off + PIECE);
        };
        count = 0;
        for await (const _ of chunkStream(pieces(), opts)) count++;
      },
      extra: () => ({ chunks: count }),
    },
    {
      group: 'chunking',
      name: `dstanesc wasm fastcdc ${sizes}`,
      dataset,
      run: () => {
        // Returns the cut offsets including 0 and data.length.
        const offsets = compute_chunks(data, opts.min, opts.avg, opts.max);
        lengths = Array.from(offsets.subarray(1), (end, i) => end - offsets[i]!);
      },
      extra: () => stats(lengths),
    },
  ];
}

/** FastCDC throughput and chunk-size distributions on the random and text datasets. */
export const chunkingSuite: MicroSuite = {
  group: 'chunking',
  cases: ({ random, text }) => [random, text].flatMap((ds) => SIZES.flatMap((avg) => cases(ds, avg))),
};
