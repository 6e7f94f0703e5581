/** Public exports of store/: the Store interface and the in-memory store. */
export { MEMORY_STORE_CAPABILITIES, MemoryStore } from './memory-store.js';
export {
  assertObjectName,
  collectBytes,
  type GetOptions,
  type ObjectInfo,
  type PutOptions,
  resolveRange,
  type Store,
  type StoreCallOptions,
  type StoreCapabilities,
} from './store.js';
