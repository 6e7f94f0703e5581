/**
 * `@cairn/core/startup`: what a program may call before it loads the rest of Cairn. This entry
 * loads only key-file parsing and the KDF, so a command line that knows its repository and
 * password at once can start the key derivation (~0.2 s of scrypt on another core) and load its
 * own code meanwhile. Everything here is also exported by `@cairn/core`.
 */
export { deriveKeyAhead } from './crypto/key-file.js';
export { isHexId } from './repo/names.js';
