/**
 * Restored times: Node passes utimes a double and libuv truncates it to microseconds, so a file
 * can get at best the recorded time truncated to microseconds. It must get exactly that, not one
 * microsecond less where the double falls just short (the first and fourth times below did).
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { TreeNode } from '../../src/format/tree.js';
import { applyFileMetadata, applyMetadataSync, nsToSeconds } from '../../src/fsmeta/apply-metadata.js';

const work = mkdtempSync(join(tmpdir(), 'cairn-times-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const TIMES = [
  1_763_800_000_380_739_014n,
  1_577_836_800_123_456_789n,
  1_577_836_800_000_000_000n,
  1_577_836_800_999_999_999n,
  4_102_444_800_000_001_999n, // 2100
  1_000_000n,
];

function node(mtimeNs: bigint): TreeNode {
  return { type: 'file', mode: 0o640, uid: 0, gid: 0, mtimeNs } as unknown as TreeNode;
}

describe('restored mtimes', () => {
  it('are the recorded time truncated to microseconds, through a path and through a handle', async () => {
    for (const [i, t] of TIMES.entries()) {
      const p = join(work, `f${i}`);
      writeFileSync(p, 'x');
      applyMetadataSync(Buffer.from(p), node(t));
      expect(statSync(p, { bigint: true }).mtimeNs / 1000n, `path, ${t}`).toBe(t / 1000n);
      writeFileSync(p, 'y');
      const h = await fsp.open(p, 'r+');
      await applyFileMetadata(h, node(t));
      await h.close();
      expect(statSync(p, { bigint: true }).mtimeNs / 1000n, `handle, ${t}`).toBe(t / 1000n);
    }
  });

  it('aims at the middle of the microsecond', () => {
    expect(nsToSeconds(1_000_000_123_456_789n)).toBeCloseTo(1_000_000.1234565, 9);
  });
});
