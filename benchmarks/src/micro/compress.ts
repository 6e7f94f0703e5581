import type { MicroSuite } from './index.js';

/** compress micro-benchmarks (filled in with the compress implementation). */
export const compressSuite: MicroSuite = { group: 'compress', cases: () => [] };
