#!/usr/bin/env node
// `pnpm demo`: a real backup and restore of a generated sample tree into a local repository,
// using the built `cairn` CLI and printing every step. Leaves everything under one temp folder.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const cairn = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'cairn.js');
const base = mkdtempSync(join(tmpdir(), 'cairn-demo-'));
const source = join(base, 'hospital-data');
const repo = join(base, 'repository');
const target = join(base, 'restored');
const env = { ...process.env, CAIRN_PASSWORD: 'demo-password', CAIRN_CACHE_DIR: join(base, 'cache') };

function run(...args) {
  console.log(`\n$ cairn ${args.join(' ')}`);
  const out = execFileSync(process.execPath, [cairn, ...args], { env, encoding: 'utf8' });
  process.stdout.write(out);
  return out;
}

// A small tree with the shapes a real one has: text, a database dump, binaries, nesting, a link.
mkdirSync(join(source, 'emr', 'notes'), { recursive: true });
mkdirSync(join(source, 'pacs'), { recursive: true });
mkdirSync(join(source, 'empty-dir'), { recursive: true });
for (let i = 0; i < 50; i++) {
  writeFileSync(
    join(source, 'emr', 'notes', `note-${i}.txt`),
    `Patient ${i}: blood pressure normal, follow-up in ${i % 12} weeks.\n`.repeat(200),
  );
}
writeFileSync(
  join(source, 'emr', 'dump.sql'),
  Array.from({ length: 40000 }, (_, i) => `INSERT INTO visits VALUES (${i}, 'ward ${i % 17}', 'routine');`).join('\n'),
);
writeFileSync(join(source, 'pacs', 'scan-001.dcm'), randomBytes(3 * 1024 * 1024));
writeFileSync(join(source, 'pacs', 'scan-002.dcm'), randomBytes(1024 * 1024));
symlinkSync('emr/dump.sql', join(source, 'latest-dump'));

console.log(`sample tree: ${source}`);
run('init', '--repo', repo, '--kdf-work', '16384');
run('backup', '--repo', repo, '--tag', 'demo', '--operator', 'demo-operator', '--class', 'critical', source);
writeFileSync(join(source, 'emr', 'notes', 'note-7.txt'), 'Patient 7: discharged.\n');
run('backup', '--repo', repo, '--tag', 'demo', source);
run('snapshots', '--repo', repo);
run('diff', '--repo', repo, readFirstTwo()[0], readFirstTwo()[1]);
run('restore', 'latest', '--repo', repo, '--target', target);

// Compare every restored file with the source, byte for byte.
const digest = (p) => createHash('sha256').update(readFileSync(p)).digest('hex');
let compared = 0;
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st) continue;
    if (st.isDirectory()) walk(p);
    else if (st.isFile()) {
      const restored = join(target, p);
      if (digest(p) !== digest(restored)) throw new Error(`restored file differs: ${relative(source, p)}`);
      compared++;
    }
  }
};
walk(source);
console.log(`\nverified: ${compared} restored files are identical to the source`);
console.log(`everything is under ${base}`);

function readFirstTwo() {
  const list = JSON.parse(
    execFileSync(process.execPath, [cairn, 'snapshots', '--repo', repo, '--json'], { env, encoding: 'utf8' }),
  );
  return [list[0].id.slice(0, 8), list[1].id.slice(0, 8)];
}
