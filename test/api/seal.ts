/** Test-only helper: seals a lock document the way the repository does (via the public format API). */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export function sealJson(dataKey: Uint8Array, value: unknown): Uint8Array {
  // sealJson is internal to core; its format is documented (docs/format.md §Sealed objects), so
  // the test builds the envelope itself from the public AEAD.
  const { xchacha20poly1305Seal, randomNonce } = require('@cairn/core') as typeof import('@cairn/core');
  const payload = Buffer.from(JSON.stringify(value));
  const header = Buffer.alloc(12);
  header.write('CRNO', 0, 'ascii');
  header[4] = 1; // version
  header[5] = 4; // kind: lock
  header[6] = 0; // compression: none
  header[7] = 0;
  header.writeUInt32LE(payload.length, 8);
  const nonce = randomNonce();
  const ct = xchacha20poly1305Seal(dataKey, nonce, payload, header);
  return Buffer.concat([header, nonce, ct]);
}
