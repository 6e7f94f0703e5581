import { describe, it } from 'vitest';
import { storeConformanceSuite } from '../../src/store/conformance.js';
import { MemoryStore } from '../../src/store/memory-store.js';

storeConformanceSuite({ describe, it }, { name: 'MemoryStore', create: async () => new MemoryStore() });
storeConformanceSuite(
  { describe, it },
  {
    name: 'MemoryStore as a write-once medium',
    create: async () =>
      new MemoryStore({ capabilities: { deletes: false, overwrite: false, immutability: false, sequential: true } }),
  },
);
