/**
 * Snapshot documents (docs/format.md §Snapshots): every field validated on read, the optional
 * fields, and the JSON that a sealed snapshot object holds.
 */
import { describe, expect, it } from 'vitest';
import { validateSnapshotDoc } from '../../src/format/snapshot.js';
import { sampleSnapshot } from '../fuzz/fixtures.js';
import { expectCode } from './helpers.js';

const ID = 'e'.repeat(64);

describe('snapshot documents', () => {
  it('accepts a complete document, with and without the optional fields', () => {
    const doc = sampleSnapshot();
    expect(validateSnapshotDoc(doc, ID)).toEqual(doc);
    const { original: _o, notes: _n, ...minimal } = doc;
    expect(validateSnapshotDoc({ ...minimal, parent: null }, ID)).toMatchObject({ parent: null });
  });

  it('reports a newer format as UNSUPPORTED_VERSION, not as damage', () => {
    expect(() => validateSnapshotDoc({ ...sampleSnapshot(), v: 2 }, ID)).toThrow(
      expect.objectContaining({ code: 'UNSUPPORTED_VERSION' }),
    );
  });

  it('refuses every invalid field with CORRUPT_DATA naming the snapshot', () => {
    const invalid: Record<string, unknown>[] = [
      { v: 1.5 },
      { v: '1' },
      { v: { toString: 0 } }, // String() of this throws: the message must not
      { v: JSON.parse(`${'['.repeat(20_000)}${']'.repeat(20_000)}`) }, // nor may deep nesting overflow the stack
      { time: 'yesterday' },
      { time: 5 },
      { host: null },
      { operator: 1 },
      { username: undefined },
      { programVersion: [] },
      { paths: ['/a', 1] },
      { tags: 'nightly' },
      { excludes: null },
      { class: 'secret' },
      { kind: 'weekly' },
      { parent: 'A'.repeat(64) },
      { parent: undefined },
      { tree: 'a'.repeat(63) },
      { partial: 'yes' },
      { errorCount: '1' },
      { errors: [{ path: '/x' }] },
      { errors: [null] },
      { stats: { filesNew: 1 } },
      { stats: null },
      { original: 'z' },
      { notes: [1] },
    ];
    for (const change of invalid) {
      const err = expectCode(() => validateSnapshotDoc({ ...sampleSnapshot(), ...change }, ID), 'CORRUPT_DATA');
      expect(err.message).toContain(ID);
      expect(err.details).toEqual({ snapshotId: ID });
    }
    for (const doc of [null, 5, 'x', []]) expectCode(() => validateSnapshotDoc(doc, ID), 'CORRUPT_DATA');
  });
});
