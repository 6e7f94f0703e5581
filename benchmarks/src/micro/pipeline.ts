import type { MicroSuite } from './index.js';

/** pipeline micro-benchmarks (filled in with the pipeline implementation). */
export const pipelineSuite: MicroSuite = { group: 'pipeline', cases: () => [] };
