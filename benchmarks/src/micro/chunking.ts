import type { MicroSuite } from './index.js';

/** chunking micro-benchmarks (filled in with the chunking implementation). */
export const chunkingSuite: MicroSuite = { group: 'chunking', cases: () => [] };
