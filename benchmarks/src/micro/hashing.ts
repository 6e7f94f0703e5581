import type { MicroSuite } from './index.js';

/** hashing micro-benchmarks (filled in with the hashing implementation). */
export const hashingSuite: MicroSuite = { group: 'hashing', cases: () => [] };
