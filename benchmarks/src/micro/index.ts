/** The registry of micro-benchmark suites; each file in this folder contributes one group. */
import type { BenchCase, Dataset } from '../harness.js';
import { chunkingSuite } from './chunking.js';
import { compressSuite } from './compress.js';
import { cryptoSuite } from './crypto.js';
import { hashingSuite } from './hashing.js';
import { pipelineSuite } from './pipeline.js';

export interface MicroSuite {
  group: string;
  cases(datasets: { random: Dataset; text: Dataset }): BenchCase[] | Promise<BenchCase[]>;
}

export const microSuites: MicroSuite[] = [chunkingSuite, hashingSuite, compressSuite, cryptoSuite, pipelineSuite];
