/** Public exports of crypto/: the AEAD, master keys, password KDFs and key files. */
export {
  type Argon2idParams,
  calibrateScrypt,
  DEFAULT_ARGON2ID,
  DEFAULT_SCRYPT,
  type KdfParams,
  type ScryptParams,
  startedKeyDerivations,
} from './kdf.js';
export {
  createKeyFile,
  deriveKeyAhead,
  KEY_FILE_VERSION,
  type KeyFileInfo,
  type KeyFileOptions,
  openKeyFile,
  readKeyFileInfo,
} from './key-file.js';
export {
  decodeMasterKeys,
  encodeMasterKeys,
  generateMasterKeys,
  MASTER_KEYS_LENGTH,
  MASTER_KEYS_VERSION,
  type MasterKeys,
} from './master-keys.js';
export {
  fillRandomNonce,
  randomNonce,
  XCHACHA_KEY_LENGTH,
  XCHACHA_NONCE_LENGTH,
  XCHACHA_TAG_LENGTH,
  xchacha20poly1305Open,
  xchacha20poly1305Seal,
  xchacha20poly1305SealInto,
} from './xchacha20poly1305.js';
