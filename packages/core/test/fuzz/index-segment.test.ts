/**
 * Fuzzing index segment payloads: `decodeIndexSegment` runs directly on mutated plaintext (the
 * sealed envelope is fuzzed separately), with length tweaks aimed at the count fields.
 */
import { describe, expect, it } from 'vitest';
import { decodeIndexSegment } from '../../src/format/index-segment.js';
import { seedSegments } from './fixtures.js';
import { describeFailures, maybeWriteSeeds, runFuzz, scaled } from './harness.js';
import { mutateBytes } from './mutate.js';

/** Offsets of the superseded count, and of the pack and entry counts of a segment without supersedes. */
function countFields(p: Uint8Array): number[] {
  const out = [8];
  if (p.length >= 16) {
    const view = new DataView(p.buffer, p.byteOffset, p.byteLength);
    const nSup = view.getUint32(8, true);
    const packCount = 12 + nSup * 32;
    out.push(packCount);
    if (packCount + 4 + 32 + 4 <= p.length) out.push(packCount + 4 + 32);
  }
  return out;
}

describe('fuzz: index segments', () => {
  it('mutated payloads give CORRUPT_DATA or UNSUPPORTED_ALGORITHM only', async () => {
    const seeds = seedSegments();
    maybeWriteSeeds('index-segment', seeds);
    const report = await runFuzz({
      decoder: 'index-segment',
      seeds,
      cases: scaled(10000),
      codes: ['CORRUPT_DATA', 'UNSUPPORTED_VERSION', 'UNSUPPORTED_ALGORITHM'],
      mutate: (base, r, bases) => mutateBytes(base, r, { others: bases, fieldOffsets: countFields(base) }),
      run: (input) => {
        const seg = decodeIndexSegment(input);
        // A decoded segment never claims more than the bytes it came from.
        const entries = seg.packs.reduce((n, p) => n + p.entries.length, 0);
        if (16 + seg.supersedes.length * 32 + seg.packs.length * 36 + entries * 50 !== input.length) {
          throw new Error('decoded segment does not account for every byte');
        }
      },
    });
    expect(report.failures, describeFailures(report)).toEqual([]);
    expect(report.outcomes.CORRUPT_DATA ?? 0).toBeGreaterThan(report.cases / 2);
  });
});
