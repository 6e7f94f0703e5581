import type { MicroSuite } from './index.js';

/** crypto micro-benchmarks (filled in with the crypto implementation). */
export const cryptoSuite: MicroSuite = { group: 'crypto', cases: () => [] };
