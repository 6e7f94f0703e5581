/** Process facts for benchmarks: peak resident memory, directory sizes, machine load. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';

export const MiB = 1024 * 1024;

/** A field of /proc/<pid>/status in bytes (VmHWM = peak RSS, VmRSS = current), or undefined. */
export function procStatusBytes(
  field: 'VmHWM' | 'VmRSS' | 'RssAnon' | 'RssFile',
  pid: number | 'self' = 'self',
): number | undefined {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Bytes on disk under `path` (du -sb; apparent size would hide sparse files and block rounding). */
export function diskUsage(path: string): number {
  const out = execFileSync('du', ['-s', '--block-size=1', path], { encoding: 'utf8' });
  return Number(out.split(/\s/)[0]);
}

/** Apparent size (sum of file lengths) under `path`. */
export function apparentSize(path: string): number {
  const out = execFileSync('du', ['-s', '--apparent-size', '--block-size=1', path], { encoding: 'utf8' });
  return Number(out.split(/\s/)[0]);
}

/** What to record about the machine with every result. */
export function machineInfo(): Record<string, unknown> {
  return {
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
    date: new Date().toISOString(),
  };
}

export const mib = (bytes: number | undefined) => (bytes === undefined ? '?' : (bytes / MiB).toFixed(1));

/** Prints rows as an aligned text table (first row = header). */
export function printTable(rows: (string | number)[][]): void {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => String(r[c] ?? '').length)));
  for (const [i, r] of rows.entries()) {
    console.log(r.map((v, c) => (c === 0 ? String(v).padEnd(widths[c]!) : String(v).padStart(widths[c]!))).join('  '));
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}

export interface RssPeaks {
  /** VmHWM at the last sample: peak resident set, file-backed pages (mmap) included. */
  hwmBytes: number;
  /** Highest RssAnon seen: anonymous memory (heap, malloc), what the process really needs. */
  anonBytes: number;
  /** Highest RssFile seen: file pages mapped into the process (e.g. LevelDB's mmap'd tables). */
  fileBytes: number;
  samples: number;
}

/**
 * Samples /proc/<pid>/status every `intervalMs` (VmHWM is exact; RssAnon/RssFile peaks are
 * sampled, so a spike shorter than the interval can be missed). `stop()` takes a last sample.
 */
export function sampleRss(pid: number | 'self' = 'self', intervalMs = 50): { stop: () => RssPeaks; peaks: RssPeaks } {
  const peaks: RssPeaks = { hwmBytes: 0, anonBytes: 0, fileBytes: 0, samples: 0 };
  const sample = () => {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/status`, 'utf8');
    } catch {
      return;
    }
    const kb = (f: string) => Number(text.match(new RegExp(`^${f}:\\s+(\\d+) kB`, 'm'))?.[1] ?? 0) * 1024;
    peaks.hwmBytes = Math.max(peaks.hwmBytes, kb('VmHWM'));
    peaks.anonBytes = Math.max(peaks.anonBytes, kb('RssAnon'));
    peaks.fileBytes = Math.max(peaks.fileBytes, kb('RssFile'));
    peaks.samples++;
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  timer.unref();
  return {
    peaks,
    stop: () => {
      clearInterval(timer);
      sample();
      return peaks;
    },
  };
}
