/** Messages between the main thread and content workers (structured-clone friendly, ids packed). */
import type { ContentResult, RawBatch, SealedBatch } from './content-processor.js';

/** A file as sent to a worker. */
export interface FileTask {
  path: Uint8Array;
  size: number;
  /** Decimal string: bigints survive cloning but strings keep the protocol plain. */
  mtimeNs: string;
}

export type ToWorker =
  | { t: 'job'; job: number; files: FileTask[] }
  /** Blobs to seal and deliver (tree blobs); answered by a `job-done` without files. */
  | { t: 'seal'; job: number; batch: RawBatch }
  /** `need`: a lookup's answer; `buffer`: a delivered batch's buffer, moved back to be filled again. */
  | { t: 'reply'; req: number; need?: Uint8Array; buffer?: ArrayBuffer };

export type ToMain =
  | { t: 'lookup'; req: number; ids: Uint8Array }
  | { t: 'read'; bytes: number }
  | { t: 'deliver'; req: number; batch: SealedBatch }
  /**
   * Every blob of the job has been handed over and accepted. Carries each file's outcome, in job
   * order, and the bytes read since the last `read` message: one message per job rather than two
   * per file (each message wakes the main thread, and small files come by the thousand).
   */
  | { t: 'job-done'; job: number; files: FileOutcome[]; bytes: number; error?: { code: string; message: string } };

/** What became of one file of a job. */
export type FileOutcome = { result: ContentResult } | { error: { code: string; message: string } };
