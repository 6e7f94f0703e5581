/**
 * A mistake on the command line: printed with the command's usage, exit code 1. With --json also a
 * JSON error line with {@link UsageError.code} (`USAGE`: a CLI code, not one of core's ErrorCodes).
 */
export class UsageError extends Error {
  /** Stable machine-readable code of every usage error. */
  readonly code = 'USAGE';

  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}
