/**
 * Typed errors. Every error Cairn throws on purpose is a {@link CairnError} with a stable `code`;
 * front ends branch on `code`, never on message text. Messages say what happened and what to do.
 */

/** Stable error codes. Append only: never rename or reuse one. */
export type ErrorCode =
  /** A parameter is out of range or inconsistent (e.g. chunker min >= avg). */
  | 'INVALID_ARGUMENT'
  /** The password does not open any key of the repository. */
  | 'WRONG_PASSWORD'
  /** Authenticated decryption failed: the data was altered or the wrong key was used. */
  | 'AUTH_FAILED'
  /** Bytes do not parse as what they claim to be (bad magic, length, field, id). */
  | 'CORRUPT_DATA'
  /** A format version this build does not understand. */
  | 'UNSUPPORTED_VERSION'
  /** An algorithm (compression, KDF, hash backend) is not available in this runtime. */
  | 'UNSUPPORTED_ALGORITHM'
  /** An object, snapshot or file does not exist. */
  | 'NOT_FOUND'
  /** An object already exists where a new one was to be created. */
  | 'ALREADY_EXISTS'
  /** The store's medium does not allow this operation (see its capabilities). */
  | 'NOT_SUPPORTED'
  /** The operation was cancelled through its AbortSignal. */
  | 'ABORTED'
  /** The medium is full (disk, tape, quota). */
  | 'NO_SPACE'
  /** The operating system or service refused access. */
  | 'PERMISSION_DENIED'
  /** No repository exists at the given location. */
  | 'REPO_NOT_FOUND'
  /** A repository already exists at the given location. */
  | 'REPO_EXISTS'
  /** The repository is locked by another operation. */
  | 'LOCKED'
  /** A restore entry would be written outside the target directory. */
  | 'PATH_OUTSIDE_TARGET'
  /** A restore would overwrite existing files and overwriting was not allowed. */
  | 'RESTORE_CONFLICT'
  /** A snapshot reference (id prefix) matches more than one snapshot. */
  | 'AMBIGUOUS_ID'
  /** The last key of a repository cannot be removed. */
  | 'LAST_KEY'
  /** A store call failed for a reason outside Cairn (network, I/O). */
  | 'IO_ERROR';

/** Base class of every error Cairn throws deliberately. */
export class CairnError extends Error {
  /** Stable machine-readable code. */
  readonly code: ErrorCode;
  /** Optional structured context (object id, path, byte offset...). */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CairnError';
    this.code = code;
    this.details = options?.details;
  }
}

/** True when `err` is a {@link CairnError}, optionally with the given code. */
export function isCairnError(err: unknown, code?: ErrorCode): err is CairnError {
  return err instanceof CairnError && (code === undefined || err.code === code);
}

/** Throws an `ABORTED` error if the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

/** The error to throw when `signal` has fired. */
export function abortError(signal?: AbortSignal): CairnError {
  return new CairnError('ABORTED', 'operation was cancelled', { cause: signal?.reason });
}
