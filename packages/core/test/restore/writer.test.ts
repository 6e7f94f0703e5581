/**
 * The restore writer's holes, on hand-made blobs (independent of any chunker seed): every whole
 * file block of zeros is left unwritten, wherever it sits in a blob and whatever the blob's offset
 * in the file, and the bytes read back are exactly the blobs'.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateMasterKeys } from '../../src/crypto/master-keys.js';
import { blobId, sealBlob } from '../../src/format/blob.js';
import { runJob, tempName, tempVariant, type WireBlob } from '../../src/restore/writer.js';

const work = mkdtempSync(join(tmpdir(), 'cairn-writer-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const keys = generateMasterKeys();
const BLOCK = 4096;

/** `n` bytes with no zero byte, so only the planted runs are zeros. */
function data(n: number): Buffer {
  const b = randomBytes(n);
  for (let i = 0; i < n; i++) if (b[i] === 0) b[i] = 1;
  return b;
}

/** Restores `blobs` (raw bytes at file offsets) as one file through one job; returns its path. */
function restoreFile(name: string, size: number, parts: { at: number; raw: Buffer }[]): string {
  const sealedParts = parts.map(({ raw }) => sealBlob(keys.dataKey, 'data', blobId(keys.idKey, raw), raw, 'none'));
  const buf = Buffer.concat(sealedParts.map((s) => s.sealed));
  let off = 0;
  const blobs: WireBlob[] = sealedParts.map((s, i) => {
    const b: WireBlob = {
      off,
      len: s.sealed.length,
      type: 'data',
      id: s.id,
      compression: s.compression,
      rawLength: s.rawLength,
      to: [0, parts[i]!.at],
    };
    off += s.sealed.length;
    return b;
  });
  const path = join(work, name);
  const result = runJob(keys, {
    n: 1,
    pack: 'test',
    buf: new Uint8Array(buf),
    blobs,
    files: [
      {
        i: 0,
        path: new Uint8Array(Buffer.from(path)),
        size,
        mode: 0o644,
        uid: 0,
        gid: 0,
        chown: false,
        mtime: 1_700_000_000,
        create: true,
        finish: true,
        temp: 0,
      },
    ],
    overwrite: false,
  });
  expect(result.files).toEqual([{ i: 0 }]);
  expect(result.fatal).toBeUndefined();
  return path;
}

describe('restore writer: holes', () => {
  it('leaves out the zero blocks between data inside one blob, at any alignment of the blob', () => {
    for (const shift of [0, 1, 2047, 4095]) {
      // Data at both ends (so the first and last whole blocks hold data), 64 KiB of zeros plus odd
      // bits in the middle, and two more zero blocks between data.
      const raw = Buffer.concat([
        data(5000),
        Buffer.alloc(65536 + 3000),
        data(3000),
        Buffer.alloc(2 * BLOCK + 5),
        data(5000),
      ]);
      const at = 3 * BLOCK + shift;
      const size = at + raw.length + 20_000;
      // Blobs of zeros before and after, as a file's chunks would be.
      const path = restoreFile(`mid-${shift}`, size, [
        { at: 0, raw: Buffer.alloc(at) },
        { at, raw },
        { at: at + raw.length, raw: Buffer.alloc(20_000) },
      ]);
      const expected = Buffer.concat([Buffer.alloc(at), raw, Buffer.alloc(20_000)]);
      expect(readFileSync(path).equals(expected)).toBe(true);
      let dataBlocks = 0;
      for (let b = 0; b < size; b += BLOCK) if (expected.subarray(b, b + BLOCK).some((x) => x !== 0)) dataBlocks++;
      // A little slack for file systems that allocate ahead; the 64 KiB run must not be there.
      expect(statSync(path).blocks * 512).toBeLessThanOrEqual(dataBlocks * BLOCK + 8192);
    }
  });

  it('writes blocks that only start with zeros, and data that fills whole blobs', () => {
    // Every block starts with 8+ zero bytes but holds data further on: nothing may be left out.
    const block = Buffer.alloc(BLOCK);
    block[100] = 7;
    const raw = Buffer.concat(Array.from({ length: 8 }, () => block));
    const full = data(3 * BLOCK + 17);
    const path = restoreFile('dense', raw.length + full.length, [
      { at: 0, raw },
      { at: raw.length, raw: full },
    ]);
    expect(readFileSync(path).equals(Buffer.concat([raw, full]))).toBe(true);
  });
});

describe('temporary names', () => {
  const names = (...n: string[]) => n.map((x) => Buffer.from(x));

  it('are fixed per final name, beside it, and never another entry of the directory', () => {
    expect(tempName(Buffer.from('/t/a/report.pdf')).toString()).toMatch(/^\/t\/a\/\.cairn-restore-[0-9a-f]{16}$/);
    expect(tempName(Buffer.from('/t/a/x'), 2).toString()).toMatch(/^\/t\/a\/\.cairn-restore2-[0-9a-f]{16}$/);
    expect(tempVariant(names('a', '.bashrc', '.cairn-restore', '.cairn-restorex', '.cairn-restore01-x'))).toBe(0);
    expect(tempVariant(names('a', '.cairn-restore-0123456789abcdef'))).toBe(1);
    expect(tempVariant(names('.cairn-restore-x', '.cairn-restore1-y', '.cairn-restore3-z'))).toBe(2);
    const dir = names('x', '.cairn-restore-1', '.cairn-restore1-2', '.cairn-restore2-3');
    expect(tempVariant(dir)).toBe(3);
    for (const n of dir) {
      const temp = tempName(Buffer.from(`/t/${n.toString()}`), 3).subarray(3);
      expect(dir.some((m) => m.equals(temp))).toBe(false);
    }
  });
});
