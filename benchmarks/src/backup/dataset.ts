/**
 * The whole-backup data set: a deterministic (seeded) tree that looks like a small hospital file
 * server, generated once and cached between runs, plus a deterministic "changed tree" mutation
 * and its exact reversal.
 *
 * Composition for a total of T bytes (defaults: T = 1.2 GiB):
 *   db/emr-dump.sql              ~25%  one SQL dump of INSERT lines (pg_dump --inserts style)
 *   imaging/, archives/          ~20%  large incompressible files (20-80 MiB; scans, .tar.gz)
 *   photos/                      ~10%  medium incompressible files (1-6 MiB; JPEG-like)
 *   projects/, logs/, exports/   ~35%  text in nested directories: logs, CSV, NDJSON, Markdown,
 *                                      source code (4 KiB-12 MiB, log-normal)
 *   mail/, src/                  ~ 7%  thousands of small text files (0.3-16 KiB)
 *   copies/                      ~ 3%  byte-identical copies of some of the files above
 *
 * Every file's bytes are a pure function of (kind, seed, size), so the data set is identical on
 * every machine and a changed file can be restored to its original bytes by regenerating it.
 * The mutation ("changed tree") touches ~1% of the files of each kind (an inserted line in text,
 * rewritten small files, 3 scattered 16 KiB overwrites in binaries), appends ~1% to the SQL dump,
 * and adds a few new files.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, open, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export const DATASET_VERSION = 2;
const MiB = 1024 * 1024;
const KiB = 1024;

export type Kind = 'sql' | 'binary' | 'log' | 'csv' | 'ndjson' | 'markdown' | 'code' | 'mail';

export interface DatasetFile {
  /** Path relative to the data directory. */
  path: string;
  kind: Kind;
  size: number;
  seed: number;
  /** For copies: the file whose bytes this one repeats. */
  copyOf?: string;
}

export interface Manifest {
  version: number;
  targetBytes: number;
  totalBytes: number;
  files: DatasetFile[];
}

export interface Mutation {
  modified: string[];
  added: DatasetFile[];
  appendedTo: string;
  appendedBytes: number;
  originalSqlSize: number;
}

export interface Dataset {
  root: string;
  /** The directory that is backed up. */
  data: string;
  manifest: Manifest;
}

// ---- deterministic randomness ----------------------------------------------------------------------

/** mulberry32: a small, fast 32-bit PRNG; returns [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const int = (r: () => number, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
/** Log-normal-ish size between lo and hi (geometric interpolation). */
const logSize = (r: () => number, lo: number, hi: number) =>
  Math.round(lo * (hi / lo) ** (r() * r() * 0.5 + r() * 0.5));
const pad = (n: number, w: number) => String(n).padStart(w, '0');

// ---- content generators ----------------------------------------------------------------------------

const WORDS = (
  'patient record admission discharge laboratory result imaging study report physician nurse ward ' +
  'medication dose allergy diagnosis procedure referral appointment billing insurance consent the of and ' +
  'to in is was for on with as by at from that this which are be an or has have not blood pressure heart ' +
  'rate temperature oxygen saturation glucose creatinine hemoglobin platelet normal abnormal pending final ' +
  'amended critical routine urgent follow-up observation chest abdomen renal hepatic cardiac pulmonary ' +
  'infection fever pain chronic acute history family social surgery recovery therapy infusion catheter ' +
  'monitoring protocol guideline assessment plan review signed department clinic outpatient inpatient ' +
  'emergency radiology pathology pharmacy oncology pediatrics neurology orthopedics schedule shift handover ' +
  'visit room bed transfer note order sample specimen culture negative positive elevated decreased stable ' +
  'improved worsened continue start stop increase reduce daily twice weekly morning evening night patient'
).split(' ');
const NAMES =
  'Anna Ben Chen Dara Elif Femi Greta Hugo Ines Jonas Kai Lena Malik Nora Omar Pia Rui Sara Tomas Uma Vik Wen Yara Zoe'.split(
    ' ',
  );
const SURNAMES =
  'Meyer Novak Rossi Garcia Kowalski Jensen Dubois Silva Horvat Nieminen Berg Costa Weber Moreau Tanaka Okafor'.split(
    ' ',
  );
const WARDS = ['A1', 'A2', 'B3', 'B4', 'C1', 'ICU', 'ER', 'OR2', 'PED', 'MAT'];
const CODES = ['I10', 'E11.9', 'J18.9', 'N39.0', 'K21.0', 'M54.5', 'F32.9', 'I48.91', 'J44.1', 'R07.9', 'Z00.00'];
const SERVICES = ['api', 'auth', 'pacs-gw', 'hl7-in', 'billing', 'sched', 'lab-if', 'print'];
const LEVELS = ['INFO', 'INFO', 'INFO', 'INFO', 'DEBUG', 'DEBUG', 'WARN', 'ERROR'];
const PATHS = [
  '/api/v2/patients',
  '/api/v2/orders',
  '/api/v2/results',
  '/hl7/adt',
  '/api/v2/appointments',
  '/fhir/Observation',
];
const CODE_WORDS = ['const', 'let', 'return', 'if', 'else', 'for', 'await', 'async', 'function', 'export', 'import'];

function sentence(r: () => number): string {
  const n = int(r, 5, 18);
  const w: string[] = [];
  for (let i = 0; i < n; i++) w.push(pick(r, WORDS));
  const s = w.join(' ');
  return `${s[0]!.toUpperCase()}${s.slice(1)}${r() < 0.1 ? '?' : '.'}`;
}

const hex = (r: () => number, n: number) => {
  let s = '';
  while (s.length < n)
    s += Math.floor(r() * 4294967296)
      .toString(16)
      .padStart(8, '0');
  return s.slice(0, n);
};

function isoTime(t: number): string {
  return new Date(t).toISOString();
}

/** A text generator: returns the next line(s) of this kind of file. */
type LineSource = () => string;

function lineSource(kind: Kind, seed: number): LineSource {
  const r = prng(seed);
  switch (kind) {
    case 'log': {
      let t = Date.UTC(2024, 0, 1) + Math.floor(r() * 3e10);
      return () => {
        t += int(r, 1, 900);
        const lvl = pick(r, LEVELS);
        const svc = pick(r, SERVICES);
        const msg =
          r() < 0.7
            ? `${pick(r, ['GET', 'GET', 'POST', 'PUT'])} ${pick(r, PATHS)}/${int(r, 1, 99999)} status=${pick(r, [200, 200, 200, 201, 204, 304, 400, 404, 500])} dur=${int(r, 1, 900)}ms`
            : sentence(r);
        return `${isoTime(t)} ${lvl.padEnd(5)} [${svc}] req=${hex(r, 12)} user=u${int(r, 1000, 9999)} ${msg}\n`;
      };
    }
    case 'csv': {
      let id = int(r, 1, 1e6);
      let first = true;
      return () => {
        if (first) {
          first = false;
          return 'id,patient_id,taken_at,code,value,unit,flag,ward\n';
        }
        id++;
        const t = Date.UTC(2023, 0, 1) + Math.floor(r() * 3e10);
        return `${id},${int(r, 100000, 999999)},${isoTime(t)},${pick(r, CODES)},${(r() * 200).toFixed(2)},${pick(r, ['mg/dL', 'mmol/L', 'g/L', 'bpm', '%'])},${pick(r, ['', '', '', 'H', 'L', 'C'])},${pick(r, WARDS)}\n`;
      };
    }
    case 'ndjson': {
      let id = int(r, 1, 1e6);
      return () => {
        id++;
        const doc = {
          id,
          patient: {
            mrn: `MRN${int(r, 1000000, 9999999)}`,
            name: `${pick(r, NAMES)} ${pick(r, SURNAMES)}`,
            born: `19${int(r, 30, 99)}-${pad(int(r, 1, 12), 2)}-${pad(int(r, 1, 28), 2)}`,
          },
          ward: pick(r, WARDS),
          diagnoses: [pick(r, CODES), pick(r, CODES)],
          vitals: {
            bp: `${int(r, 95, 180)}/${int(r, 55, 110)}`,
            hr: int(r, 45, 140),
            spo2: int(r, 85, 100),
            temp: +(36 + r() * 3).toFixed(1),
          },
          note: sentence(r),
        };
        return `${JSON.stringify(doc)}\n`;
      };
    }
    case 'markdown': {
      let n = 0;
      return () => {
        n++;
        if (n % 12 === 1) return `\n## ${sentence(r).slice(0, 40)}\n\n`;
        if (r() < 0.15) return `- ${sentence(r)}\n`;
        let p = '';
        const k = int(r, 2, 6);
        for (let i = 0; i < k; i++) p += `${sentence(r)} `;
        return `${p.trim()}\n\n`;
      };
    }
    case 'code': {
      let depth = 0;
      return () => {
        const ind = '  '.repeat(depth);
        const x = r();
        if (depth === 0 || x < 0.12) {
          depth = 1;
          return `\nexport ${pick(r, ['async function', 'function'])} ${pick(r, WORDS)}${pick(r, NAMES)}(${pick(r, WORDS)}: ${pick(r, ['string', 'number', 'Patient', 'Order[]', 'Uint8Array'])}) {\n`;
        }
        if (x < 0.2 && depth > 1) {
          depth--;
          return `${'  '.repeat(depth)}}\n`;
        }
        if (x < 0.3 && depth < 4) {
          depth++;
          return `${ind}${pick(r, ['if', 'for', 'while'])} (${pick(r, WORDS)} ${pick(r, ['===', '<', '!=='])} ${int(r, 0, 100)}) {\n`;
        }
        if (x < 0.36) {
          const d = depth;
          depth = 0;
          return `${ind}return ${pick(r, WORDS)};\n${'  '.repeat(Math.max(0, d - 1))}}\n`;
        }
        return `${ind}${pick(r, CODE_WORDS)} ${pick(r, WORDS)}_${int(r, 0, 99)} = ${pick(r, ['await ', ''])}${pick(r, WORDS)}.${pick(r, WORDS)}(${pick(r, WORDS)}, ${int(r, 0, 9999)}); // ${sentence(r).slice(0, 50)}\n`;
      };
    }
    case 'mail': {
      let header = true;
      return () => {
        if (header) {
          header = false;
          const from = `${pick(r, NAMES).toLowerCase()}.${pick(r, SURNAMES).toLowerCase()}@hospital.example`;
          const to = `${pick(r, NAMES).toLowerCase()}.${pick(r, SURNAMES).toLowerCase()}@hospital.example`;
          return `From: ${from}\nTo: ${to}\nSubject: ${sentence(r).slice(0, 60)}\nDate: ${new Date(Date.UTC(2024, 0, 1) + Math.floor(r() * 3e10)).toUTCString()}\nMessage-ID: <${hex(r, 24)}@hospital.example>\nContent-Type: text/plain; charset=utf-8\n\n`;
        }
        return `${sentence(r)} ${r() < 0.5 ? sentence(r) : ''}\n`;
      };
    }
    case 'sql':
      return sqlSource(seed, 0);
    default:
      throw new Error(`no line source for ${kind}`);
  }
}

/** pg_dump --inserts style: a few tables, one INSERT per row. `startRow` continues a dump (appends). */
function sqlSource(seed: number, startRow: number): LineSource {
  const r = prng(seed ^ (startRow * 2654435761));
  let row = startRow;
  const tables = ['visits', 'lab_results', 'orders', 'notes'];
  return () => {
    row++;
    const table = tables[Math.floor(row / 250000) % tables.length]!;
    const head = row % 250000 === 1 ? `\n--\n-- Data for Name: ${table}; Type: TABLE DATA; Schema: public\n--\n\n` : '';
    const t = new Date(Date.UTC(2019, 0, 1) + row * 37_000 + Math.floor(r() * 30_000))
      .toISOString()
      .replace('T', ' ')
      .slice(0, 19);
    switch (table) {
      case 'visits':
        return `${head}INSERT INTO public.visits (id, patient_id, admitted_at, ward, physician, diagnosis, status) VALUES (${row}, ${int(r, 100000, 999999)}, '${t}', '${pick(r, WARDS)}', 'Dr. ${pick(r, SURNAMES)}', '${pick(r, CODES)}', '${pick(r, ['open', 'closed', 'closed', 'transferred'])}');\n`;
      case 'lab_results':
        return `${head}INSERT INTO public.lab_results (id, visit_id, taken_at, code, value, unit, flag) VALUES (${row}, ${int(r, 1, row)}, '${t}', '${pick(r, CODES)}', ${(r() * 200).toFixed(2)}, '${pick(r, ['mg/dL', 'mmol/L', 'g/L'])}', ${r() < 0.8 ? 'NULL' : `'${pick(r, ['H', 'L', 'C'])}'`});\n`;
      case 'orders':
        return `${head}INSERT INTO public.orders (id, visit_id, ordered_at, item, quantity, ordered_by) VALUES (${row}, ${int(r, 1, row)}, '${t}', '${pick(r, WORDS)} ${pick(r, WORDS)}', ${int(r, 1, 20)}, 'u${int(r, 1000, 9999)}');\n`;
      default:
        return `${head}INSERT INTO public.notes (id, visit_id, written_at, author, body) VALUES (${row}, ${int(r, 1, row)}, '${t}', 'Dr. ${pick(r, SURNAMES)}', '${sentence(r)} ${sentence(r)} ${sentence(r)}');\n`;
    }
  };
}

/** Streams exactly `size` bytes of `kind` generated from `seed` to `write`, in ~1 MiB pieces. */
async function generate(
  kind: Kind,
  seed: number,
  size: number,
  write: (b: Uint8Array) => Promise<void>,
): Promise<void> {
  if (kind === 'binary') {
    const key = createHash('sha256').update(`binary:${seed}`).digest().subarray(0, 16);
    const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
    const zeros = Buffer.alloc(MiB);
    for (let off = 0; off < size; off += MiB) await write(cipher.update(zeros.subarray(0, Math.min(MiB, size - off))));
    return;
  }
  const next = lineSource(kind, seed);
  let done = 0;
  let parts: string[] = [];
  let partLen = 0;
  while (done < size) {
    const line = next();
    parts.push(line);
    partLen += line.length; // generators emit ASCII only: length = bytes
    if (partLen >= MiB || done + partLen >= size) {
      let buf = Buffer.from(parts.join(''), 'latin1');
      if (done + buf.length > size) buf = buf.subarray(0, size - done);
      await write(buf);
      done += buf.length;
      parts = [];
      partLen = 0;
    }
  }
}

async function writeGenerated(path: string, kind: Kind, seed: number, size: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const h = await open(path, 'w');
  try {
    let pos = 0;
    await generate(kind, seed, size, async (b) => {
      await h.write(b, 0, b.length, pos);
      pos += b.length;
    });
  } finally {
    await h.close();
  }
}

// ---- the manifest ----------------------------------------------------------------------------------

/** The list of files (paths, kinds, sizes, seeds) for a data set of about `target` bytes. */
export function planDataset(target: number): Manifest {
  const r = prng(20240601);
  const files: DatasetFile[] = [];
  let seed = 1000;
  const add = (path: string, kind: Kind, size: number) => {
    files.push({ path, kind, size, seed: seed++ });
    return size;
  };
  // SQL dump: 25%.
  add('db/emr-dump.sql', 'sql', Math.round(target * 0.25));
  // Large binaries: 20%.
  let budget = target * 0.2;
  for (let i = 1; budget > 0; i++) {
    const size = Math.min(Math.max(Math.round(budget), 4 * MiB), int(r, 20, 80) * MiB);
    budget -= add(
      i % 3 === 0 ? `archives/export-${2019 + i}.tar.gz` : `imaging/ct/series-${pad(i, 4)}.dcm.zst`,
      'binary',
      size,
    );
  }
  // Photos: 10%.
  budget = target * 0.1;
  for (let i = 1; budget > 0; i++) {
    budget -= add(
      `photos/${2020 + (i % 5)}/${pad((i % 12) + 1, 2)}/IMG_${pad(4000 + i, 5)}.jpg`,
      'binary',
      int(r, 1 * MiB, 6 * MiB),
    );
  }
  // Text in nested directories: 35%.
  budget = target * 0.35;
  const depts = ['cardiology', 'oncology', 'radiology', 'admin', 'pharmacy', 'it', 'research', 'quality'];
  for (let i = 1; budget > 0; i++) {
    const dept = pick(r, depts);
    const x = r();
    let path: string;
    let kind: Kind;
    let size: number;
    if (x < 0.25) {
      kind = 'log';
      path = `logs/${pick(r, SERVICES)}/2024/${pad(int(r, 1, 12), 2)}/app-${pad(i, 5)}.log`;
      size = logSize(r, 64 * KiB, 12 * MiB);
    } else if (x < 0.45) {
      kind = 'csv';
      path = `exports/${dept}/${2019 + (i % 6)}/extract-${pad(i, 5)}.csv`;
      size = logSize(r, 32 * KiB, 8 * MiB);
    } else if (x < 0.6) {
      kind = 'ndjson';
      path = `projects/${dept}/data/batch-${pad(i, 5)}.ndjson`;
      size = logSize(r, 16 * KiB, 6 * MiB);
    } else if (x < 0.8) {
      kind = 'markdown';
      path = `projects/${dept}/docs/${pick(r, WORDS)}/${pick(r, WORDS)}-${pad(i, 5)}.md`;
      size = logSize(r, 4 * KiB, 512 * KiB);
    } else {
      kind = 'code';
      path = `projects/${dept}/src/${pick(r, WORDS)}/${pick(r, WORDS)}/${pick(r, WORDS)}_${pad(i, 5)}.ts`;
      size = logSize(r, 2 * KiB, 96 * KiB);
    }
    budget -= add(path, kind, Math.min(size, Math.max(2 * KiB, Math.round(budget))));
  }
  // Many small files: ~7% (thousands: ~10k at 1.2 GiB, at least 2000).
  const smallCount = Math.max(2000, Math.round((target / (1.2 * 1024 * MiB)) * 10_000));
  for (let i = 1; i <= smallCount; i++) {
    if (i % 3 === 0) {
      add(
        `src/${pick(r, depts)}/${pick(r, WORDS)}/${pick(r, WORDS)}/mod_${pad(i, 5)}.ts`,
        'code',
        logSize(r, 300, 16 * KiB),
      );
    } else {
      add(
        `mail/${pick(r, NAMES).toLowerCase()}/${pick(r, ['cur', 'cur', 'new', 'sent'])}/${pad(1700000000 + i * 97, 10)}.M${pad(i, 6)}.eml`,
        'mail',
        logSize(r, 600, 16 * KiB),
      );
    }
  }
  // Byte-identical copies: ~3% (users copy files around).
  budget = target * 0.03;
  const candidates = files.filter((f) => f.kind !== 'sql' && f.size >= 64 * KiB && f.size <= 24 * MiB);
  for (let i = 1; budget > 0 && candidates.length > 0; i++) {
    const src = pick(r, candidates);
    files.push({ ...src, path: `copies/${pad(i, 3)}/${src.path.split('/').pop()}`, copyOf: src.path });
    budget -= src.size;
  }
  // Paths must be unique.
  const seen = new Set<string>();
  for (const f of files) {
    while (seen.has(f.path)) f.path = f.path.replace(/(\.[^./]+)?$/, (ext) => `-x${ext}`);
    seen.add(f.path);
  }
  return { version: DATASET_VERSION, targetBytes: target, totalBytes: files.reduce((n, f) => n + f.size, 0), files };
}

// ---- cache management ------------------------------------------------------------------------------

const MANIFEST = 'manifest.json';
const COMPLETE = 'complete';
const MUTATION = 'mutation.json';

/**
 * Returns the data set for `target` bytes under `cacheRoot`, generating it if absent and undoing a
 * mutation left by an interrupted run, so the returned tree is always the pristine one.
 */
export async function ensureDataset(cacheRoot: string, target: number, log: (s: string) => void): Promise<Dataset> {
  const root = join(cacheRoot, `dataset-v${DATASET_VERSION}-${Math.round(target / MiB)}MiB`);
  const data = join(root, 'data');
  const manifest = planDataset(target);
  if (existsSync(join(root, COMPLETE))) {
    const ds = { root, data, manifest };
    await revert(ds);
    return ds;
  }
  log(
    `generating the data set (${(manifest.totalBytes / MiB).toFixed(0)} MiB, ${manifest.files.length} files) in ${root} …`,
  );
  await rm(root, { recursive: true, force: true });
  await mkdir(data, { recursive: true });
  const t0 = Date.now();
  let done = 0;
  let lastLog = Date.now();
  for (const f of manifest.files) {
    await writeGenerated(join(data, f.path), f.kind, f.seed, f.size);
    done += f.size;
    if (Date.now() - lastLog > 5000) {
      lastLog = Date.now();
      log(`  ${((100 * done) / manifest.totalBytes).toFixed(0)}%`);
    }
  }
  await writeFile(join(root, MANIFEST), JSON.stringify(manifest));
  await writeFile(join(root, COMPLETE), `${new Date().toISOString()}\n`);
  log(`  generated in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return { root, data, manifest };
}

/** Plans the mutation of the data set (deterministic). */
export function planMutation(
  manifest: Manifest,
): Omit<Mutation, 'appendedBytes' | 'originalSqlSize'> & { appendBytes: number } {
  const r = prng(777);
  const modified: string[] = [];
  const byKind = new Map<Kind, DatasetFile[]>();
  for (const f of manifest.files) {
    if (f.kind === 'sql' || f.copyOf) continue;
    const k = f.kind === 'binary' ? 'binary' : f.size < 16 * KiB ? ('mail' as Kind) : f.kind;
    byKind.set(k, [...(byKind.get(k) ?? []), f]);
  }
  for (const [, files] of [...byKind.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const n = Math.max(1, Math.round(files.length * 0.01));
    const chosen = new Set<number>();
    while (chosen.size < n) chosen.add(Math.floor(r() * files.length));
    for (const i of [...chosen].sort((a, b) => a - b)) modified.push(files[i]!.path);
  }
  const sql = manifest.files.find((f) => f.kind === 'sql')!;
  const scale = manifest.targetBytes / (1.2 * 1024 * MiB);
  const added: DatasetFile[] = [];
  let seed = 900_000;
  for (let i = 1; i <= Math.max(4, Math.round(20 * scale)); i++) {
    const kind: Kind = i % 4 === 0 ? 'binary' : i % 4 === 1 ? 'mail' : i % 4 === 2 ? 'log' : 'markdown';
    const size = kind === 'binary' ? 2 * MiB : kind === 'log' ? MiB : kind === 'markdown' ? 64 * KiB : 4 * KiB;
    added.push({ path: `incoming/new-${pad(i, 3)}.${kind === 'binary' ? 'bin' : kind}`, kind, size, seed: seed++ });
  }
  return { modified, added, appendedTo: sql.path, appendBytes: Math.round(sql.size * 0.01) };
}

/** Applies the changed-tree mutation; records what it did so {@link revert} can undo it. */
export async function mutate(ds: Dataset): Promise<Mutation> {
  const plan = planMutation(ds.manifest);
  const byPath = new Map(ds.manifest.files.map((f) => [f.path, f]));
  const sql = byPath.get(plan.appendedTo)!;
  const mutation: Mutation = {
    modified: plan.modified,
    added: plan.added,
    appendedTo: plan.appendedTo,
    appendedBytes: plan.appendBytes,
    originalSqlSize: sql.size,
  };
  // Recorded first: an interrupted mutation is still reverted.
  await writeFile(join(ds.root, MUTATION), JSON.stringify(mutation));
  const r = prng(4242);
  for (const p of plan.modified) {
    const f = byPath.get(p)!;
    const path = join(ds.data, p);
    if (f.kind === 'binary') {
      // Three scattered 16 KiB overwrites (a database or VM image updated in place).
      const h = await open(path, 'r+');
      try {
        for (let k = 0; k < 3; k++) {
          const block = Buffer.alloc(16 * KiB, int(r, 1, 255));
          await h.write(block, 0, block.length, Math.floor(r() * Math.max(1, f.size - block.length)));
        }
      } finally {
        await h.close();
      }
    } else if (f.size < 16 * KiB) {
      // Small files are rewritten whole (a mail flag, an edited source file).
      await writeGenerated(path, f.kind, f.seed + 1_000_000, f.size + int(r, -100, 400));
    } else {
      // An inserted line somewhere in the middle: everything after it shifts.
      const bytes = await readFile(path);
      let at = Math.floor(bytes.length * (0.2 + r() * 0.6));
      const nl = bytes.indexOf(10, at);
      at = nl < 0 ? bytes.length : nl + 1;
      const line = Buffer.from(
        `${lineSource(f.kind === 'csv' || f.kind === 'ndjson' ? 'markdown' : f.kind, f.seed + 7)()}`,
      );
      await writeFile(path, Buffer.concat([bytes.subarray(0, at), line, bytes.subarray(at)]));
    }
  }
  // The dump grows: new rows appended (as the next night's dump of a growing database would end).
  const h = await open(join(ds.data, sql.path), 'a');
  try {
    let pos = 0;
    const next = sqlSource(sql.seed, 5_000_000);
    let out = '';
    while (pos + out.length < plan.appendBytes) {
      out += next();
      if (out.length > MiB) {
        await h.write(out);
        pos += out.length;
        out = '';
      }
    }
    await h.write(out);
    mutation.appendedBytes = pos + out.length;
  } finally {
    await h.close();
  }
  for (const f of plan.added) await writeGenerated(join(ds.data, f.path), f.kind, f.seed, f.size);
  await writeFile(join(ds.root, MUTATION), JSON.stringify(mutation));
  return mutation;
}

/** Undoes a recorded mutation (no-op when there is none): the tree is pristine again. */
export async function revert(ds: Dataset): Promise<void> {
  const file = join(ds.root, MUTATION);
  if (!existsSync(file)) return;
  const m = JSON.parse(await readFile(file, 'utf8')) as Mutation;
  const byPath = new Map(ds.manifest.files.map((f) => [f.path, f]));
  for (const p of m.modified) {
    const f = byPath.get(p)!;
    await writeGenerated(join(ds.data, p), f.kind, f.seed, f.size);
  }
  const sqlPath = join(ds.data, m.appendedTo);
  if ((await stat(sqlPath)).size !== m.originalSqlSize) await truncate(sqlPath, m.originalSqlSize);
  for (const f of m.added) await rm(join(ds.data, f.path), { force: true });
  await rm(join(ds.data, 'incoming'), { recursive: true, force: true });
  await rm(file);
}

/** Total bytes currently in the data directory's files (manifest + mutation). */
export async function currentBytes(ds: Dataset): Promise<number> {
  const file = join(ds.root, MUTATION);
  if (!existsSync(file)) return ds.manifest.totalBytes;
  let n = 0;
  for (const f of ds.manifest.files) n += (await stat(join(ds.data, f.path))).size;
  const m = JSON.parse(await readFile(file, 'utf8')) as Mutation;
  for (const f of m.added) n += f.size;
  return n;
}

/** SHA-256 of a file (streamed). */
export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (b) => h.update(b))
      .on('end', () => resolve(h.digest('hex')))
      .on('error', reject);
  });
}
