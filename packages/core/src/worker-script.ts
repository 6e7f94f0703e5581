/**
 * Where a worker thread's script is: a bundle entry next to the calling bundle (`dist/`). Undefined
 * when it is absent (tests running from source), so callers fall back to the calling thread.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function bundledWorkerScript(file: string): string | undefined {
  try {
    const path = fileURLToPath(new URL(`./${file}`, import.meta.url));
    return existsSync(path) ? path : undefined;
  } catch {
    return undefined;
  }
}
