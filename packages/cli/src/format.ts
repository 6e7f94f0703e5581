/** Human formatting of sizes, durations, rates and modes. */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 1536 → "1.5 KiB". */
export function bytes(n: number): string {
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${UNITS[u]}`;
}

/** 3723000 → "1:02:03"; 63000 → "1:03". */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** Seconds with one decimal for summaries: "12.3s". */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/**
 * "drwxr-xr-x"-style mode for a node type and mode bits, as ls(1) shows them: setuid and setgid
 * put s (S without x) in the owner's and group's x place, the sticky bit t (T) in the others'.
 */
export function modeString(type: string, mode: number): string {
  const t = { dir: 'd', symlink: 'l', fifo: 'p', socket: 's', chardev: 'c', blockdev: 'b' }[type] ?? '-';
  const rwx = (m: number, special: boolean, mark: string) => {
    const x = special ? (m & 1 ? mark : mark.toUpperCase()) : m & 1 ? 'x' : '-';
    return `${m & 4 ? 'r' : '-'}${m & 2 ? 'w' : '-'}${x}`;
  };
  return (
    t +
    rwx(mode >> 6, !!(mode & 0o4000), 's') +
    rwx(mode >> 3, !!(mode & 0o2000), 's') +
    rwx(mode, !!(mode & 0o1000), 't')
  );
}

/** Pads columns of a table of strings. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) {
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, c.length);
    });
  }
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}
