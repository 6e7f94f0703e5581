/**
 * Everything the CLI prints goes through here. With --json, stdout carries only JSON, one complete
 * value per line (events, or one document for listings); human text goes to stdout otherwise, and
 * problems to stderr. On a terminal, progress events drive a one-line progress bar. --quiet, as
 * restic's, hides progress and status messages only, never the output a command was run for.
 */
import type { CairnEvent, ProgressEvent } from '@cairn/core';
import { bytes, duration } from './format.js';

export interface OutputOptions {
  json: boolean;
  quiet: boolean;
  progress: boolean;
  verbose: boolean;
}

export class Output {
  private barVisible = false;
  private lastDraw = 0;
  readonly isTTY: boolean;

  constructor(
    readonly options: OutputOptions,
    private readonly stdout: NodeJS.WriteStream = process.stdout,
    private readonly stderr: NodeJS.WriteStream = process.stderr,
  ) {
    this.isTTY = !!stdout.isTTY;
  }

  get json(): boolean {
    return this.options.json;
  }

  /** True when progress events are shown (a bar on a terminal, or JSON lines). */
  get showsProgress(): boolean {
    return this.options.json || (this.options.progress && !this.options.quiet && this.isTTY);
  }

  /**
   * A line of what the command was asked for (a listing, a diff, statistics). Suppressed by --json
   * (the command prints JSON instead) but not by --quiet: `cairn snapshots -q` still lists.
   */
  result(line: string): void {
    if (this.options.json) return;
    this.clearBar();
    this.stdout.write(`${line}\n`);
  }

  /** A status line for humans ("snapshot … saved"; suppressed by --json and --quiet). */
  info(line: string): void {
    if (this.options.json || this.options.quiet) return;
    this.clearBar();
    this.stdout.write(`${line}\n`);
  }

  /** Details shown only with --verbose. */
  verbose(line: string): void {
    if (this.options.verbose && !this.options.json) this.info(line);
  }

  /** A warning or file-level problem for humans, on stderr. */
  warn(line: string): void {
    this.clearBar();
    this.stderr.write(`${line}\n`);
  }

  /** One JSON value on one line of stdout. */
  printJson(value: unknown): void {
    this.stdout.write(`${JSON.stringify(value)}\n`);
  }

  /** Handles an event from core: JSON line, progress bar, or a warning line. */
  event(e: CairnEvent): void {
    if (this.options.json) {
      this.printJson(e);
      return;
    }
    if (e.type === 'progress') {
      if (this.options.progress && !this.options.quiet && this.isTTY) this.drawBar(e);
    } else if (e.type === 'error') {
      this.warn(`error: ${e.path ? `${e.path}: ` : ''}${e.message}`);
    }
  }

  private drawBar(e: ProgressEvent): void {
    const now = Date.now();
    if (now - this.lastDraw < 100) return;
    this.lastDraw = now;
    // A terminal that reports no size (columns 0: a pty without a window size, a serial console) is
    // treated as 80 wide; `?? 80` alone kept the 0 and cut the bar to 39 characters (no rate, no ETA).
    const width = Math.max(40, this.stdout.columns || 80);
    const pct = e.bytesTotal ? Math.min(1, e.bytesDone / Math.max(1, e.bytesTotal)) : undefined;
    const barLen = 20;
    const filled = pct === undefined ? 0 : Math.round(pct * barLen);
    const bar =
      pct === undefined
        ? ''
        : `[${'#'.repeat(filled)}${'.'.repeat(barLen - filled)}] ${(pct * 100).toFixed(0).padStart(3)}% `;
    const files = `${e.filesDone}${e.filesTotal !== undefined ? `/${e.filesTotal}` : ''} files`;
    const size = `${bytes(e.bytesDone)}${e.bytesTotal !== undefined ? `/${bytes(e.bytesTotal)}` : ''}`;
    const eta = e.etaMs !== undefined ? ` ETA ${duration(e.etaMs)}` : '';
    const rate = ` ${bytes(e.bytesPerSecond)}/s`;
    const elapsed = ` ${duration(e.elapsedMs)}`;
    // Long figures must not cut the ETA off: the elapsed time goes first, then the rate, then the
    // bar's drawing (its percentage stays).
    const pctOnly = pct === undefined ? '' : `${(pct * 100).toFixed(0)}% `;
    let line = `${bar}${files} ${size}${rate}${elapsed}${eta}`;
    if (line.length > width - 1) line = `${bar}${files} ${size}${rate}${eta}`;
    if (line.length > width - 1) line = `${bar}${files} ${size}${eta}`;
    if (line.length > width - 1) line = `${pctOnly}${files} ${size}${eta}`;
    if (e.currentFile) {
      const room = width - line.length - 3;
      if (room > 10) {
        const f = e.currentFile.length > room ? `…${e.currentFile.slice(-(room - 1))}` : e.currentFile;
        line += `  ${f}`;
      }
    }
    this.stdout.write(`\r\x1b[2K${line.slice(0, width - 1)}`);
    this.barVisible = true;
  }

  /** Removes the progress bar line (before other output, and at the end). */
  clearBar(): void {
    if (!this.barVisible) return;
    this.stdout.write('\r\x1b[2K');
    this.barVisible = false;
  }
}
