/**
 * Per-blob compression micro-benchmarks through the real codec (`compressBlob` /
 * `decompressBlob`) on 1 MiB blobs: LZ4 and zstd level 3 on random and text. On random data the
 * codec tries, finds no gain and stores the blob raw, so only that attempt is timed: "decompressing"
 * a raw blob is a length check. Notes give the ratio (raw bytes / stored bytes) and the share of
 * blobs stored raw.
 */
import { type CompressedBlob, type Compression, compressBlob, decompressBlob, zstdAvailable } from '@cairn/core';
import { type BenchCase, type Dataset, MiB } from '../harness.js';
import type { MicroSuite } from './index.js';

const BLOB = MiB;

function blobsOf(data: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let off = 0; off < data.length; off += BLOB) out.push(data.subarray(off, off + BLOB));
  return out;
}

function stats(blobs: CompressedBlob[], rawBytes: number): Record<string, unknown> {
  const stored = blobs.reduce((n, b) => n + b.data.length, 0);
  const raw = blobs.filter((b) => b.compression === 'none').length;
  return { ratio: rawBytes / stored, storedRaw: `${raw}/${blobs.length}` };
}

function casesFor(algo: Compression, label: string, dataset: Dataset, withDecompress: boolean): BenchCase[] {
  const raw = blobsOf(dataset.data);
  let compressed: CompressedBlob[] = [];
  const cases: BenchCase[] = [
    {
      group: 'compress',
      name: `${label} compress 1MiB blobs`,
      dataset,
      run: () => {
        compressed = raw.map((b) => compressBlob(b, algo));
      },
      extra: () => stats(compressed, dataset.data.length),
    },
  ];
  if (!withDecompress) return cases;
  cases.push({
    group: 'compress',
    name: `${label} decompress 1MiB blobs`,
    dataset,
    setup: () => {
      compressed = raw.map((b) => compressBlob(b, algo));
    },
    run: () => {
      for (let i = 0; i < compressed.length; i++) {
        const b = compressed[i]!;
        decompressBlob(b.data, b.compression, raw[i]!.length);
      }
    },
    extra: () => stats(compressed, dataset.data.length),
  });
  return cases;
}

export const compressSuite: MicroSuite = {
  group: 'compress',
  cases: ({ random, text }) => {
    const cases: BenchCase[] = [];
    if (!zstdAvailable()) console.log('compress: zstd is not available in this runtime; zstd cases skipped');
    for (const dataset of [random, text]) {
      const withDecompress = dataset !== random;
      cases.push(...casesFor('lz4', 'lz4', dataset, withDecompress));
      if (zstdAvailable()) cases.push(...casesFor('zstd', 'zstd-3', dataset, withDecompress));
    }
    return cases;
  },
};
