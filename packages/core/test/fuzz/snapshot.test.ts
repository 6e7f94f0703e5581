/**
 * Fuzzing snapshot and config documents the way a repository reads them: the mutated JSON bytes
 * are sealed, then opened with `openJson` and validated (`validateSnapshotDoc`, `validateConfig`).
 * Byte mutations and structural mutations of the documents both must give typed errors only.
 */
import { describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../src/errors.js';
import { openJson, sealObject } from '../../src/format/sealed-object.js';
import { validateSnapshotDoc } from '../../src/format/snapshot.js';
import { DEFAULT_CHUNKER, type RepoConfig, validateConfig } from '../../src/repo/config.js';
import { sampleSnapshot, TEST_KEYS } from './fixtures.js';
import { describeFailures, type FuzzTarget, maybeWriteSeeds, runFuzz, scaled } from './harness.js';
import { JSON_TOKENS, mutateBytes, mutateDeep, mutateJson } from './mutate.js';

const json = (v: unknown) => new Uint8Array(Buffer.from(JSON.stringify(v) ?? 'null'));

const snapshotSeeds = [
  json(sampleSnapshot()),
  json({ ...sampleSnapshot({ parent: null, errors: [], partial: false, errorCount: 0 }), notes: undefined }),
];
const config: RepoConfig = {
  v: 1,
  id: 'd'.repeat(64),
  created: '2025-01-01T00:00:00.000Z',
  chunker: DEFAULT_CHUNKER,
  compression: 'lz4',
  packSize: 16 * 1024 * 1024,
  hash: 'blake3-keyed',
  aead: 'xchacha20poly1305',
};
const configSeeds = [
  json(config),
  json({ ...config, compression: 'none', chunker: { ...DEFAULT_CHUNKER, normalization: 3 } }),
];

/** Byte and structural mutations of a JSON document, half each (a few of them deeply nested values). */
const mutateDoc: FuzzTarget['mutate'] = (base, r, bases) => {
  if (r.chance(0.5)) return mutateBytes(base, r, { others: bases, dictionary: JSON_TOKENS });
  try {
    const doc = JSON.parse(Buffer.from(base).toString('utf8'));
    const deep = r.chance(0.05) ? mutateDeep(doc, r) : undefined;
    if (deep) return deep;
    const m = mutateJson(doc, r);
    return { bytes: json(m.value), ops: m.ops };
  } catch {
    return mutateBytes(base, r, { dictionary: JSON_TOKENS });
  }
};

const DOC_CODES: ErrorCode[] = ['CORRUPT_DATA', 'UNSUPPORTED_VERSION', 'UNSUPPORTED_ALGORITHM'];

describe('fuzz: snapshots and config', () => {
  it('mutated snapshot documents give CORRUPT_DATA (or UNSUPPORTED_VERSION) only', async () => {
    maybeWriteSeeds('snapshot', snapshotSeeds);
    const report = await runFuzz({
      decoder: 'snapshot',
      seeds: snapshotSeeds,
      cases: scaled(8000),
      codes: ['CORRUPT_DATA', 'UNSUPPORTED_VERSION'],
      mutate: mutateDoc,
      run: (input) => {
        const sealed = sealObject(TEST_KEYS.dataKey, 'snapshot', input);
        validateSnapshotDoc(openJson(TEST_KEYS.dataKey, 'snapshot', sealed), 'f'.repeat(64));
      },
    });
    expect(report.failures, describeFailures(report)).toEqual([]);
    expect(report.outcomes.ok ?? 0).toBeGreaterThan(0);
    expect(report.outcomes.CORRUPT_DATA ?? 0).toBeGreaterThan(report.cases / 2);
  });

  it('mutated config documents give typed errors only', async () => {
    maybeWriteSeeds('config', configSeeds);
    const report = await runFuzz({
      decoder: 'config',
      seeds: configSeeds,
      cases: scaled(4000),
      codes: DOC_CODES,
      mutate: mutateDoc,
      run: (input) => {
        const sealed = sealObject(TEST_KEYS.dataKey, 'config', input);
        validateConfig(openJson(TEST_KEYS.dataKey, 'config', sealed));
      },
    });
    expect(report.failures, describeFailures(report)).toEqual([]);
    expect(report.outcomes.CORRUPT_DATA ?? 0).toBeGreaterThan(report.cases / 2);
  });
});
