/**
 * Events of long operations (backup, restore, verify, copy). They are plain JSON-serialisable
 * objects: the API hands them to `onEvent`, and `cairn --json` prints exactly these objects, one
 * per line. Every event has `type` and `operation`; progress events are rate-limited.
 */

/** Operations that emit events. */
export type Operation = 'backup' | 'restore' | 'verify' | 'copy' | 'forget' | 'prune' | 'repair';

/** The first event of an operation. */
export interface StartEvent {
  type: 'start';
  operation: Operation;
  time: string;
  [key: string]: unknown;
}

/**
 * Periodic progress. Totals are present once known: a count runs alongside the work (for an
 * incremental or differential backup with a parent, only once it has run for a second, so short
 * metadata-only backups do not walk the tree twice).
 */
export interface ProgressEvent {
  type: 'progress';
  operation: Operation;
  elapsedMs: number;
  filesDone: number;
  bytesDone: number;
  filesTotal?: number;
  bytesTotal?: number;
  /** True when the totals are final. */
  totalsFinal: boolean;
  /** Bytes per second over the operation so far. */
  bytesPerSecond: number;
  /** Estimated time left, when totals are final. */
  etaMs?: number;
  currentFile?: string;
  [key: string]: unknown;
}

/** A problem with one item that did not stop the operation. */
export interface ErrorEvent {
  type: 'error';
  operation: Operation;
  path?: string;
  code: string;
  message: string;
  [key: string]: unknown;
}

/** The last event of a successful operation. */
export interface SummaryEvent {
  type: 'summary';
  operation: Operation;
  durationMs: number;
  [key: string]: unknown;
}

export type CairnEvent = StartEvent | ProgressEvent | ErrorEvent | SummaryEvent;

/** Receives events. Must not throw (exceptions are swallowed so they cannot break an operation). */
export type EventHandler = (event: CairnEvent) => void;

/** Default minimum time between progress events. */
export const PROGRESS_INTERVAL_MS = 250;

/** Tracks counters and emits rate-limited progress events. */
export class ProgressReporter {
  readonly started = Date.now();
  filesDone = 0;
  bytesDone = 0;
  filesTotal: number | undefined;
  bytesTotal: number | undefined;
  totalsFinal = false;
  currentFile: string | undefined;
  private last = 0;

  constructor(
    readonly operation: Operation,
    private readonly handler: EventHandler | undefined,
    private readonly intervalMs = PROGRESS_INTERVAL_MS,
    private readonly extra: () => Record<string, unknown> = () => ({}),
  ) {}

  emit(event: CairnEvent): void {
    if (!this.handler) return;
    try {
      this.handler(event);
    } catch {
      // a faulty listener must not break a backup
    }
  }

  start(fields: Record<string, unknown>): void {
    this.emit({ type: 'start', operation: this.operation, time: new Date(this.started).toISOString(), ...fields });
  }

  error(fields: { path?: string; code: string; message: string; [key: string]: unknown }): void {
    this.emit({ type: 'error', operation: this.operation, ...fields });
  }

  /** Emits a progress event if the interval has passed (or `force`). */
  tick(force = false): void {
    if (!this.handler) return;
    const now = Date.now();
    if (!force && now - this.last < this.intervalMs) return;
    this.last = now;
    const elapsedMs = now - this.started;
    const bytesPerSecond = elapsedMs > 0 ? Math.round((this.bytesDone * 1000) / elapsedMs) : 0;
    const event: ProgressEvent = {
      type: 'progress',
      operation: this.operation,
      elapsedMs,
      filesDone: this.filesDone,
      bytesDone: this.bytesDone,
      totalsFinal: this.totalsFinal,
      bytesPerSecond,
      ...this.extra(),
    };
    if (this.filesTotal !== undefined) event.filesTotal = this.filesTotal;
    if (this.bytesTotal !== undefined) event.bytesTotal = this.bytesTotal;
    if (this.totalsFinal && this.bytesTotal !== undefined && bytesPerSecond > 0) {
      event.etaMs = Math.max(0, Math.round(((this.bytesTotal - this.bytesDone) * 1000) / bytesPerSecond));
    }
    if (this.currentFile !== undefined) event.currentFile = this.currentFile;
    this.emit(event);
  }

  summary(fields: Record<string, unknown>): void {
    this.emit({ type: 'summary', operation: this.operation, durationMs: Date.now() - this.started, ...fields });
  }
}
