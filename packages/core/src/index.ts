/**
 * @cairn/core: the public API of Cairn's engine. Everything exported here is stable API;
 * anything not exported here is internal.
 */

export * from './chunking/index.js';
export * from './compress/index.js';
export * from './crypto/index.js';
export { CairnError, type ErrorCode, isCairnError, throwIfAborted } from './errors.js';
export * from './format/index.js';
export * from './hashing/index.js';
