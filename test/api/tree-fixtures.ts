/**
 * Generated source trees with every edge case a real one holds, and a field-by-field comparison of
 * a source tree with its restored copy. Paths are handled as bytes so non-UTF-8 names are exact.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';

export const isRoot = process.getuid?.() === 0;

const b = (...parts: (string | Buffer)[]): Buffer =>
  Buffer.concat(parts.map((p, i) => Buffer.concat([i ? Buffer.from('/') : Buffer.alloc(0), Buffer.from(p)])));

/** Seeded pseudo-random bytes (fast, reproducible). */
export function seededBytes(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out.writeUInt32LE(x >>> 0, Math.min(i, size - 4));
  }
  return out;
}

export interface FixtureOptions {
  /** Size of the big file (default 12 MiB: several chunks). */
  bigSize?: number;
}

/** Creates a tree with every kind of entry under `root` (which must not exist). */
export function makeEdgeCaseTree(root: string, options: FixtureOptions = {}): void {
  fs.mkdirSync(root, { recursive: true });
  fs.mkdirSync(join(root, 'empty-dir'));
  fs.mkdirSync(join(root, 'nested', 'deeper', 'deepest'), { recursive: true });
  fs.writeFileSync(join(root, 'empty-file'), '');
  fs.writeFileSync(join(root, 'small.txt'), 'hello, cairn\n');
  fs.writeFileSync(join(root, 'nested', 'deeper', 'deepest', 'note.txt'), 'deep\n'.repeat(1000));
  fs.writeFileSync(join(root, 'big.bin'), seededBytes(options.bigSize ?? 12 * 1024 * 1024, 42));
  fs.writeFileSync(join(root, 'text.log'), 'line of a log file with some words\n'.repeat(50_000));
  // Sparse: 40 MiB apparent, data only at 8 MiB and at the end.
  const sparse = fs.openSync(join(root, 'sparse.img'), 'w');
  fs.writeSync(sparse, seededBytes(100_000, 7), 0, 100_000, 8 * 1024 * 1024);
  fs.writeSync(sparse, Buffer.from('tail'), 0, 4, 40 * 1024 * 1024 - 4);
  fs.closeSync(sparse);
  // Names in any UTF-8, and bytes that are not UTF-8 at all.
  fs.writeFileSync(join(root, 'ünïcødé-日本語-🚀.txt'), 'unicode name\n');
  fs.writeFileSync(b(root, Buffer.from([0x6e, 0x6f, 0x6e, 0xff, 0xfe, 0x2d, 0x75, 0x74, 0x66, 0x38])), 'not utf-8\n');
  // Symlinks: to a file, to a directory, dangling, and with a non-UTF-8 target.
  fs.symlinkSync('small.txt', join(root, 'link-to-file'));
  fs.symlinkSync('nested', join(root, 'link-to-dir'));
  fs.symlinkSync('/does/not/exist', join(root, 'dangling-link'));
  fs.symlinkSync(Buffer.from([0x2e, 0x2f, 0xc3, 0x28]), b(root, 'link-odd-target'));
  // Hard links: three names, one inode.
  fs.writeFileSync(join(root, 'hard-a'), 'shared content\n'.repeat(100));
  fs.linkSync(join(root, 'hard-a'), join(root, 'hard-b'));
  fs.linkSync(join(root, 'hard-a'), join(root, 'nested', 'hard-c'));
  // Permissions, owners, times with sub-second precision.
  fs.writeFileSync(join(root, 'private.key'), 'secret\n');
  fs.chmodSync(join(root, 'private.key'), 0o600);
  fs.writeFileSync(join(root, 'script.sh'), '#!/bin/sh\necho hi\n');
  fs.chmodSync(join(root, 'script.sh'), 0o755);
  fs.chmodSync(join(root, 'nested', 'deeper'), 0o750);
  if (isRoot) {
    fs.chownSync(join(root, 'private.key'), 1234, 5678);
    fs.lchownSync(join(root, 'link-to-file'), 4321, 8765);
    fs.chownSync(join(root, 'nested'), 1000, 1000);
  }
  try {
    execFileSync('mkfifo', [join(root, 'a-fifo')]);
  } catch {
    // no mkfifo: the tree simply has no FIFO
  }
  const t = 1_600_000_000.123456;
  fs.utimesSync(join(root, 'small.txt'), t, t);
  fs.utimesSync(join(root, 'empty-dir'), t + 1, t + 1);
  fs.lutimesSync(join(root, 'link-to-file'), t + 2, t + 2);
}

interface Seen {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size?: number;
  mtimeUs: bigint;
  hash?: string;
  target?: string;
  inodeGroup?: string;
  sparse?: boolean;
}

function typeOf(st: fs.BigIntStats): string {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  return 'other';
}

/** Describes every entry below `root` (keys: relative path as hex of the bytes). */
export function describeTree(root: string, options: { skipRootTimes?: boolean } = {}): Map<string, Seen> {
  const out = new Map<string, Seen>();
  const firstName = new Map<string, string>();
  const visit = (dir: Buffer, rel: Buffer) => {
    for (const name of (fs.readdirSync(dir, { encoding: 'buffer' }) as Buffer[]).sort(Buffer.compare)) {
      const full = Buffer.concat([dir, Buffer.from('/'), name]);
      const r = rel.length ? Buffer.concat([rel, Buffer.from('/'), name]) : name;
      const st = fs.lstatSync(full, { bigint: true });
      const seen: Seen = {
        type: typeOf(st),
        mode: Number(st.mode) & 0o7777,
        uid: Number(st.uid),
        gid: Number(st.gid),
        mtimeUs: st.mtimeNs / 1000n,
      };
      if (seen.type === 'file') {
        seen.size = Number(st.size);
        seen.hash = createHash('sha256').update(fs.readFileSync(full)).digest('hex');
        seen.sparse = Number(st.blocks) * 512 < Number(st.size) / 2;
        if (st.nlink > 1n) {
          const key = `${st.dev}:${st.ino}`;
          if (!firstName.has(key)) firstName.set(key, r.toString('hex'));
          seen.inodeGroup = firstName.get(key)!;
        }
      }
      if (seen.type === 'symlink')
        seen.target = (fs.readlinkSync(full, { encoding: 'buffer' }) as Buffer).toString('hex');
      if (seen.type === 'dir' && options.skipRootTimes) seen.mtimeUs = 0n;
      out.set(r.toString('hex'), seen);
      if (seen.type === 'dir') visit(full, r);
    }
  };
  visit(Buffer.from(root), Buffer.alloc(0));
  return out;
}

/** Lists every difference between two descriptions (empty when identical). */
export function compareTrees(a: Map<string, Seen>, b: Map<string, Seen>): string[] {
  const problems: string[] = [];
  const show = (hex: string) => Buffer.from(hex, 'hex').toString();
  for (const [k, x] of a) {
    const y = b.get(k);
    if (!y) {
      problems.push(`missing: ${show(k)}`);
      continue;
    }
    for (const f of Object.keys(x) as (keyof Seen)[]) {
      if (f === 'sparse' && x.sparse && !y.sparse) problems.push(`${show(k)}: no longer sparse`);
      else if (f === 'mtimeUs') {
        // Node sets times from a double of seconds: about 0.24 µs of resolution at today's dates.
        const d = x.mtimeUs - y.mtimeUs;
        if (d > 1n || d < -1n) problems.push(`${show(k)}: mtime ${x.mtimeUs} µs != ${y.mtimeUs} µs`);
      } else if (f !== 'sparse' && String(x[f]) !== String(y[f])) {
        problems.push(`${show(k)}: ${f} ${String(x[f])} != ${String(y[f])}`);
      }
    }
  }
  for (const k of b.keys()) if (!a.has(k)) problems.push(`unexpected: ${show(k)}`);
  return problems;
}

/** Random bytes helper re-exported for tests. */
export const random = randomBytes;
