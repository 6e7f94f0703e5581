/**
 * What a repository location names, without loading any store: a plain path or file:// URL is a
 * disk repository. Apart from store-url.ts so that the executable's startup step (startup.ts)
 * reads locations the same way.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The scheme of a `scheme://…` location (lower case), else undefined. */
export function urlScheme(location: string): string | undefined {
  return /^([a-z][a-z0-9+.-]*):\/\//i.exec(location)?.[1]?.toLowerCase();
}

/** The absolute directory of a disk repository, or undefined for any other scheme. */
export function diskPath(location: string): string | undefined {
  const scheme = urlScheme(location);
  if (scheme === 'file') return fileURLToPath(location);
  return scheme ? undefined : resolve(location);
}
