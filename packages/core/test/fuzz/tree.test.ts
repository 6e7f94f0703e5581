/**
 * Fuzzing tree blobs: `decodeTree` and `decodeContentList` on mutated JSON bytes (byte mutations
 * with JSON tokens) and on structurally mutated documents (fields deleted, retyped, duplicated).
 * A tree that decodes must also satisfy the invariants readers rely on.
 */
import { describe, expect, it } from 'vitest';
import { CairnError } from '../../src/errors.js';
import { compareNames, decodeContentList, decodeTree, type Tree } from '../../src/format/tree.js';
import { seedTrees } from './fixtures.js';
import { describeFailures, maybeWriteSeeds, runFuzz, scaled } from './harness.js';
import { JSON_TOKENS, mutateBytes, mutateDeep, mutateJson } from './mutate.js';

/** Runs both tree-blob decoders; rethrows the first foreign error, else the tree decoder's. */
function decodeBoth(input: Uint8Array): void {
  const errors: unknown[] = [];
  let tree: Tree | undefined;
  try {
    tree = decodeTree(input);
  } catch (err) {
    errors.push(err);
  }
  try {
    decodeContentList(input);
  } catch (err) {
    errors.push(err);
  }
  const foreign = errors.find((e) => !(e instanceof CairnError));
  if (foreign !== undefined) throw foreign;
  if (!tree) throw errors[0];
  for (let i = 0; i < tree.nodes.length; i++) {
    const n = tree.nodes[i]!;
    if (n.name.length === 0 || n.name.includes(0) || n.name.includes(0x2f)) throw new Error('bad name accepted');
    if (i > 0 && compareNames(tree.nodes[i - 1]!.name, n.name) >= 0) throw new Error('unsorted names accepted');
  }
}

describe('fuzz: trees', () => {
  const seeds = seedTrees();

  it('mutated tree bytes give CORRUPT_DATA only', async () => {
    maybeWriteSeeds('tree', seeds);
    const report = await runFuzz({
      decoder: 'tree',
      seeds,
      cases: scaled(10000),
      codes: ['CORRUPT_DATA', 'UNSUPPORTED_VERSION'],
      mutate: (base, r, bases) => mutateBytes(base, r, { others: bases, dictionary: JSON_TOKENS }),
      run: decodeBoth,
    });
    expect(report.failures, describeFailures(report)).toEqual([]);
    expect(report.outcomes.CORRUPT_DATA ?? 0).toBeGreaterThan(report.cases / 2);
  });

  it('structurally mutated tree documents give CORRUPT_DATA only', async () => {
    maybeWriteSeeds('tree-json', seeds);
    const report = await runFuzz({
      decoder: 'tree-json',
      seeds,
      cases: scaled(8000),
      codes: ['CORRUPT_DATA', 'UNSUPPORTED_VERSION'],
      mutate: (base, r) => {
        let doc: unknown;
        try {
          doc = JSON.parse(Buffer.from(base).toString('utf8'));
        } catch {
          return mutateBytes(base, r, { dictionary: JSON_TOKENS });
        }
        const deep = r.chance(0.05) ? mutateDeep(doc, r) : undefined;
        if (deep) return deep;
        const m = mutateJson(doc, r);
        return { bytes: new Uint8Array(Buffer.from(JSON.stringify(m.value) ?? 'undefined')), ops: m.ops };
      },
      run: decodeBoth,
    });
    expect(report.failures, describeFailures(report)).toEqual([]);
    expect(report.outcomes.ok ?? 0).toBeGreaterThan(0);
    expect(report.outcomes.CORRUPT_DATA ?? 0).toBeGreaterThan(report.cases / 4);
  });
});
