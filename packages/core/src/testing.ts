/**
 * @cairn/core/testing: helpers for adapter authors, above all the Store conformance suite that
 * every adapter runs with its declared capabilities.
 */
export {
  type ConformanceRunner,
  type ConformanceTarget,
  storeConformanceSuite,
} from './store/conformance.js';
export { MemoryStore } from './store/memory-store.js';
