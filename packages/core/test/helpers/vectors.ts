/**
 * Locates the shared, read-only test vectors (`../shared/vectors` beside the repository, or
 * CAIRN_VECTORS_DIR). Vectors are never copied into the repository. When CI=true a missing folder
 * fails the run; elsewhere (a user's clone) the vector tests skip with a one-line notice.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

function locate(): string | undefined {
  const candidates = [process.env.CAIRN_VECTORS_DIR, join(repoRoot, '..', 'shared', 'vectors')];
  return candidates.find((c): c is string => !!c && existsSync(join(c, 'blake3.json')));
}

/** Absolute path of the vectors folder, or undefined when it is absent (outside CI only). */
export const vectorsDir: string | undefined = locate();

if (!vectorsDir) {
  if (process.env.CI === 'true') {
    throw new Error(
      `test vectors not found: expected ${join(repoRoot, '..', 'shared', 'vectors')} or CAIRN_VECTORS_DIR (required when CI=true)`,
    );
  }
  console.warn('notice: ../shared/vectors not found; vector tests are skipped (set CAIRN_VECTORS_DIR to run them)');
}

/** Reads a vectors file as JSON. Only call inside tests guarded by `hasVectors`. */
export function readVectorJson<T = unknown>(name: string): T {
  return JSON.parse(readFileSync(join(vectorsDir!, name), 'utf8')) as T;
}

/** Reads a vectors file as bytes. */
export function readVectorBytes(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(vectorsDir!, name)));
}

export const hasVectors = vectorsDir !== undefined;
