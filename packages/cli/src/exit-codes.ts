/**
 * Exit codes (documented in the README; stable):
 * 0 success · 1 error · 3 finished, but some files could not be read or restored ·
 * 10 repository does not exist · 11 repository locked · 12 wrong password · 130 interrupted (SIGINT,
 * Ctrl-C) · 143 terminated (SIGTERM).
 */
import { isCairnError } from '@cairn/core';

export const EXIT = {
  ok: 0,
  error: 1,
  partial: 3,
  noRepository: 10,
  locked: 11,
  wrongPassword: 12,
  interrupted: 130,
  terminated: 143,
} as const;

/** The exit code for an error that stopped a command. */
export function exitCodeFor(err: unknown): number {
  if (!isCairnError(err)) return EXIT.error;
  switch (err.code) {
    case 'REPO_NOT_FOUND':
      return EXIT.noRepository;
    case 'LOCKED':
      return EXIT.locked;
    case 'WRONG_PASSWORD':
      return EXIT.wrongPassword;
    case 'ABORTED':
      return EXIT.interrupted;
    default:
      return EXIT.error;
  }
}
