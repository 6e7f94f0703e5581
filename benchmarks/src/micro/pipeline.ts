/**
 * The whole single-thread content path of a backup, through the public API only: FastCDC
 * (`FastCdcChunker`, fed 1 MiB writes the way a file reader feeds it, repository default parameters
 * min 256 KiB / avg 1 MiB / max 4 MiB with a key-derived gear seed) → chunk id (keyed BLAKE3) →
 * compress (LZ4, stored raw when it does not shrink) → seal (XChaCha20-Poly1305, a fresh nonce per
 * blob) — exactly what `ContentProcessor` does per chunk, minus the dedup lookup and file I/O.
 *
 * Besides the full path, a "stage ladder" shows where time goes: chunk only, chunk+id,
 * chunk+id+lz4 (no seal), and the full path plus pack assembly (`PackWriter`: the plain BLAKE3 of
 * the pack bytes and the sealed header). Every row is MB/s of raw input and its ratio to SHA-256
 * on the same data in the same run (the harness's baseline).
 */
import {
  blobId,
  compressBlob,
  DEFAULT_CHUNKER,
  DEFAULT_PACK_SIZE,
  type FastCdcChunk,
  FastCdcChunker,
  PackWriter,
  sealBlob,
} from '@cairn/core';
import { type BenchCase, type Dataset, MiB } from '../harness.js';
import type { MicroSuite } from './index.js';

const WRITE = MiB;

/** Fixed keys: what a repository's master key set provides (content does not depend on them). */
const ID_KEY = new Uint8Array(32).fill(0x11);
const DATA_KEY = new Uint8Array(32).fill(0x22);
const SEED = 0x0123_4567_89ab_cdefn;

type Stage = 'chunk' | 'id' | 'compress' | 'seal' | 'pack';

const STAGE_LABEL: Record<Stage, string> = {
  chunk: 'chunk only',
  id: 'chunk+id',
  compress: 'chunk+id+lz4',
  seal: 'chunk+id+lz4+seal',
  pack: 'chunk+id+lz4+seal+pack',
};

interface Tally {
  chunks: number;
  stored: number;
  raw: number;
}

function pipelineCase(dataset: Dataset, stage: Stage): BenchCase {
  const { data } = dataset;
  const chunker = new FastCdcChunker({ ...DEFAULT_CHUNKER, seed: SEED });
  let tally: Tally = { chunks: 0, stored: 0, raw: 0 };

  const perChunk = (c: FastCdcChunk, t: Tally, pack: { w: PackWriter } | undefined) => {
    t.chunks++;
    if (stage === 'chunk') return;
    const id = blobId(ID_KEY, c.data);
    if (stage === 'id') return;
    if (stage === 'compress') {
      const packed = compressBlob(c.data, 'lz4');
      t.stored += packed.data.length;
      if (packed.compression === 'none') t.raw++;
      return;
    }
    const blob = sealBlob(DATA_KEY, 'data', id, c.data, 'lz4');
    t.stored += blob.sealed.length;
    if (blob.compression === 'none') t.raw++;
    if (pack) {
      pack.w.add(blob);
      if (pack.w.size >= DEFAULT_PACK_SIZE) {
        pack.w.finish();
        pack.w = new PackWriter(DATA_KEY);
      }
    }
  };

  const run = () => {
    const t: Tally = { chunks: 0, stored: 0, raw: 0 };
    const pack = stage === 'pack' ? { w: new PackWriter(DATA_KEY) } : undefined;
    chunker.reset();
    let off = 0;
    while (off < data.length) {
      const view = chunker.writable();
      const n = Math.min(view.length, WRITE, data.length - off);
      view.set(data.subarray(off, off + n));
      chunker.commit(n);
      off += n;
      for (let c = chunker.next(); c; c = chunker.next()) perChunk(c, t, pack);
    }
    chunker.finish();
    for (let c = chunker.next(); c; c = chunker.next()) perChunk(c, t, pack);
    if (pack && pack.w.count > 0) pack.w.finish();
    tally = t;
  };

  return {
    group: 'pipeline',
    name: `${STAGE_LABEL[stage]} avg 1M`,
    dataset,
    run,
    extra: () => {
      const out: Record<string, unknown> = { chunks: tally.chunks };
      if (stage !== 'chunk' && stage !== 'id') {
        out.ratio = data.length / tally.stored;
        out.storedRaw = `${tally.raw}/${tally.chunks}`;
      }
      return out;
    },
  };
}

const STAGES: Stage[] = ['chunk', 'id', 'compress', 'seal', 'pack'];

/** The full single-thread path and its stage ladder on random and text. */
export const pipelineSuite: MicroSuite = {
  group: 'pipeline',
  cases: ({ random, text }) => [random, text].flatMap((ds) => STAGES.map((s) => pipelineCase(ds, s))),
};
