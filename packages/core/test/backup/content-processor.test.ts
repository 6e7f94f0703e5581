/**
 * ContentProcessor: sealed batches are handed over in buffers that are filled again only after
 * their delivery is accepted, and the blobs they carry open to the chunks that were read.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ContentProcessor, type SealedBatch } from '../../src/backup/content-processor.js';
import { compressionFromId } from '../../src/compress/index.js';
import { BLOB_ID_LENGTH, openBlob } from '../../src/format/blob.js';
import { DEFAULT_CHUNKER } from '../../src/repo/config.js';

async function* source(bytes: Uint8Array, step: number): AsyncIterable<Uint8Array> {
  for (let at = 0; at < bytes.length; at += step) yield bytes.subarray(at, at + step);
}

describe('ContentProcessor batch buffers', () => {
  it('are refilled only after their delivery resolves, and carry every chunk intact', async () => {
    const keys = { dataKey: randomBytes(32), idKey: randomBytes(32) };
    const data = randomBytes(40 * 1024 * 1024);
    const seen = new Map<ArrayBuffer, number>();
    const opened: Uint8Array[] = [];
    let outstanding = 0;
    let maxOutstanding = 0;
    const processor = new ContentProcessor(
      { ...keys, chunker: { ...DEFAULT_CHUNKER, seed: 7n }, compression: 'lz4' },
      {
        lookup: async (ids) => new Uint8Array(ids.length / BLOB_ID_LENGTH).fill(1),
        deliver: async (batch: SealedBatch) => {
          seen.set(batch.buffer, (seen.get(batch.buffer) ?? 0) + 1);
          const copy = new Uint8Array(batch.buffer).slice();
          outstanding++;
          maxOutstanding = Math.max(maxOutstanding, outstanding);
          await new Promise((resolve) => setTimeout(resolve, 3));
          // Nothing may have written into the buffer while it was ours.
          expect(Buffer.compare(new Uint8Array(batch.buffer), copy)).toBe(0);
          let off = 0;
          for (let i = 0; i < batch.meta.length / 3; i++) {
            const length = batch.meta[i * 3 + 2]!;
            const meta = {
              type: 'data' as const,
              id: batch.ids.slice(i * BLOB_ID_LENGTH, (i + 1) * BLOB_ID_LENGTH),
              compression: compressionFromId(batch.meta[i * 3]!),
              rawLength: batch.meta[i * 3 + 1]!,
            };
            opened.push(openBlob(keys, meta, copy.subarray(off, off + length)));
            off += length;
          }
          outstanding--;
          return undefined;
        },
      },
    );
    const result = await processor.processStream(source(data, 256 * 1024));
    await processor.finishBatch();
    expect(result.size).toBe(data.length);
    expect(Buffer.compare(Buffer.concat(opened), data)).toBe(0);
    expect(maxOutstanding).toBeGreaterThan(1); // deliveries overlapped
    expect([...seen.values()].some((n) => n > 1)).toBe(true); // and buffers were reused
  });
});
