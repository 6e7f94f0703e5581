/**
 * Summarises V8 CPU profiles (`node --cpu-prof`, one file per thread) as the top functions by self
 * time, so a whole-backup run says where its CPU went. Usable on its own:
 *   node --import tsx src/backup/profile-summary.ts DIR [TOP]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface FunctionTime {
  fn: string;
  where: string;
  selfMs: number;
  share: number;
}

export interface ThreadProfile {
  file: string;
  /** Wall time covered by the profile. */
  durationMs: number;
  /** Time in samples that were not idle or program/GC bookkeeping. */
  busyMs: number;
  top: FunctionTime[];
}

function shortUrl(url: string): string {
  if (!url) return '(native)';
  const m = url.match(
    /(packages\/[^/]+\/dist\/[^?]+|node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?([^/]+(?:\/[^/]+)?)|node:[^?]+)/,
  );
  if (!m) return url.replace(/^file:\/\//, '');
  if (m[2]) return `dep:${m[2]}`;
  return m[1]!;
}

/** Self time per function (by name and location) of one profile. */
export function summarizeProfile(file: string, top = 15): ThreadProfile {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    // The delta before sample i+1 is the time attributed to sample i (Chrome DevTools' convention).
    const dt = (deltas[i + 1] ?? 0) / 1000;
    self.set(samples[i]!, (self.get(samples[i]!) ?? 0) + dt);
  }
  const agg = new Map<string, FunctionTime>();
  let busy = 0;
  for (const [id, ms] of self) {
    const n = byId.get(id)!;
    const name = n.callFrame.functionName || '(anonymous)';
    if (name === '(idle)' || name === '(program)') continue;
    busy += ms;
    const where = `${shortUrl(n.callFrame.url)}${n.callFrame.url ? `:${n.callFrame.lineNumber + 1}` : ''}`;
    const key = `${name}@${where}`;
    const e = agg.get(key) ?? { fn: name, where, selfMs: 0, share: 0 };
    e.selfMs += ms;
    agg.set(key, e);
  }
  const list = [...agg.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, top);
  for (const e of list) e.share = busy > 0 ? e.selfMs / busy : 0;
  return { file, durationMs: (p.endTime - p.startTime) / 1000, busyMs: busy, top: list };
}

/** Every `.cpuprofile` in `dir`, the main thread first (it has the lowest thread id). */
export function summarizeProfiles(dir: string, top = 15): ThreadProfile[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort((a, b) => {
      const tid = (f: string) => Number(f.split('.').at(-3));
      return tid(a) - tid(b);
    });
  return files.map((f) => summarizeProfile(join(dir, f), top));
}

export function printProfiles(profiles: ThreadProfile[]): void {
  for (const [i, t] of profiles.entries()) {
    console.log(
      `  ${i === 0 ? 'main thread' : `worker ${i}`} (${t.file.split('/').pop()}): ${(t.durationMs / 1000).toFixed(1)} s profiled, ` +
        `${(t.busyMs / 1000).toFixed(1)} s busy`,
    );
    for (const f of t.top) {
      console.log(
        `    ${(f.selfMs / 1000).toFixed(2).padStart(7)} s ${(f.share * 100).toFixed(1).padStart(5)}%  ${f.fn.padEnd(36)} ${f.where}`,
      );
    }
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: profile-summary.ts DIR [TOP]');
  printProfiles(summarizeProfiles(dir, Number(process.argv[3] ?? 15)));
}
