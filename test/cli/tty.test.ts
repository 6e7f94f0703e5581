/**
 * Terminal behaviour, in a pseudo-terminal made by util-linux `script`: the live progress bar (and
 * its absence off a terminal or with --no-progress / --json), and the no-echo password prompt.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CAIRN,
  cairnCommandLine,
  expectCode,
  hasScript,
  names,
  PASSWORD,
  runInPty,
  Sandbox,
  SLOW_SOURCE,
  shellQuote,
  sleep,
  writeTree,
} from './helpers.js';

/** One drawing of the progress bar: "\r", clear-line, then the bar text up to the next "\r". */
const BAR_DRAW = /\r\x1b\[2K([^\r\n]+)/g;
const RATE = /\d+(\.\d+)? (B|KiB|MiB|GiB)\/s/;

let b: Sandbox;
beforeAll(async () => {
  b = await Sandbox.create();
  await b.init();
  const files: Record<string, Buffer> = {};
  for (let i = 0; i < 6; i++) files[`f${i}.bin`] = Buffer.alloc(300_000 + i, i);
  await writeTree(b.path('data'), files);
  await b.backup([b.path('data')]); // later backups of it find the files unchanged
});
afterAll(async () => {
  await b.remove();
});

/** The bar drawings in the output (the clear before the summary line is not one). */
function draws(output: string): string[] {
  return [...output.matchAll(BAR_DRAW)].map((m) => m[1]!).filter((d) => !d.startsWith('snapshot '));
}

describe.skipIf(!hasScript)('progress bar on a terminal', () => {
  it('redraws a live bar with files, bytes, rate and the current file (slow input)', async () => {
    const line = `${shellQuote(process.execPath, SLOW_SOURCE, '1500', '64', '25')} | ${shellQuote(process.execPath, CAIRN, 'backup', '--stdin', '--stdin-name', 'dump.bin')}`;
    const r = await runInPty(line, { env: b.env() });
    expect(r.code).toBe(0);
    const bars = draws(r.output);
    expect(bars.length).toBeGreaterThanOrEqual(3); // redrawn in place, not printed once
    for (const bar of bars) {
      expect(bar).toMatch(/\d+ files /);
      expect(bar).toMatch(RATE);
      expect(bar).toContain('dump.bin');
    }
    // bytes grow from one drawing to the next
    const sizes = bars.map((bar) => bar.match(/files ([\d.]+ (?:B|KiB|MiB))/)?.[1]);
    expect(new Set(sizes).size).toBeGreaterThan(1);
    // the bar is cleared before the summary, which ends the output
    expect(r.output).toMatch(/\r\x1b\[2Ksnapshot [0-9a-f]{8} saved \(incremental\)\r?\n/);
  });

  it('shows percentage, totals, rate and ETA when the sizes are known (terminal of unknown width)', async () => {
    // `script` gives a terminal that reports 0 columns: the bar must still fit the usual 80.
    const r = await runInPty(cairnCommandLine(['backup', '--kind', 'full', b.path('data')]), { env: b.env() });
    expect(r.code).toBe(0);
    const bars = draws(r.output);
    expect(bars.length).toBeGreaterThan(0);
    const last = bars.at(-1)!;
    expect(last).toMatch(/^\[[#.]{20}\] +\d+% \d+\/6 files [\d.]+ (KiB|MiB)\/1\.72 MiB /);
    expect(last).toMatch(RATE);
    expect(last).toMatch(/ETA \d+:\d\d/);
    expect(r.output).toContain('files: 0 new, 0 changed, 6 unchanged');
  });

  it('--no-progress and --json draw no bar on a terminal', async () => {
    for (const flag of ['--no-progress', '--json']) {
      const r = await runInPty(cairnCommandLine(['backup', flag, b.path('data')]), { env: b.env() });
      expect(r.code).toBe(0);
      expect(r.output).not.toContain('\x1b[2K');
      if (flag === '--json') {
        for (const l of r.output.split(/\r?\n/).filter(Boolean)) expect(() => JSON.parse(l)).not.toThrow();
      } else expect(r.output).toMatch(/^snapshot [0-9a-f]{8} saved/);
    }
  });
});

describe.skipIf(!hasScript)('Ctrl-C typed at the terminal', () => {
  it('stops the backup cleanly: message, exit 130, lock released, no snapshot', async () => {
    const before = (await b.snapshots()).length;
    const line = `${shellQuote(process.execPath, SLOW_SOURCE, '0', '64', '20')} | exec ${shellQuote(process.execPath, CAIRN, 'backup', '--stdin', '--stdin-name', 'typed.bin')}`;
    let typed = false;
    const r = await runInPty(line, {
      env: b.env(),
      interact: (output, type) => {
        if (typed || draws(output).length < 2) return;
        typed = true;
        type('\x03'); // the terminal turns it into SIGINT for the foreground processes
      },
    });
    expect(typed).toBe(true);
    expect(r.code).toBe(130);
    expect(r.output).toContain('interrupted: stopping cleanly (press Ctrl-C again to force)');
    expect(r.output).toContain('cairn: operation was cancelled');
    expect(await names(join(b.repo, 'locks'))).toEqual([]);
    expect(await b.snapshots()).toHaveLength(before);
  });
});

describe('progress off a terminal', () => {
  it('piped output has no bar and no control characters, only the summary', async () => {
    const r = await b.run(['backup', '--kind', 'full', b.path('data')]);
    expectCode(r, 0);
    expect(r.stdout).not.toMatch(/[\r\x1b]/);
    expect(r.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/^snapshot [0-9a-f]{8} saved \(full, parent [0-9a-f]{8}\)$/),
      'files: 0 new, 0 changed, 6 unchanged; 1 directories',
      expect.stringMatching(/^read 1\.72 MiB, added 0 B \(stored [\d.]+ (B|KiB)\) in \d+\.\ds$/),
    ]);
  });
});

describe.skipIf(!hasScript)('password prompt on a terminal', () => {
  /** Types `answers` one by one, each after its prompt appeared. */
  function answer(prompts: [RegExp, string][]) {
    let next = 0;
    let seen = 0;
    return (output: string, type: (s: string) => void) => {
      const step = prompts[next];
      if (!step) return;
      const matches = output.slice(seen).match(step[0]);
      if (!matches) return;
      seen = output.length;
      next++;
      void sleep(50).then(() => type(`${step[1]}\r`));
    };
  }

  it('asks without echo when no other source is set', async () => {
    const r = await runInPty(cairnCommandLine(['snapshots']), {
      env: b.env({ CAIRN_PASSWORD: undefined }),
      interact: answer([[/enter password for repository: $/, PASSWORD]]),
    });
    expect(r.code).toBe(0);
    expect(r.output).toContain('enter password for repository: ');
    expect(r.output).toMatch(/snapshot\(s\)/);
    expect(r.output).not.toContain(PASSWORD);
    expect(r.output).not.toContain('correct'); // not even partly echoed
  });

  it('a wrong answer exits 12', async () => {
    const r = await runInPty(cairnCommandLine(['snapshots']), {
      env: b.env({ CAIRN_PASSWORD: undefined }),
      interact: answer([[/enter password for repository: $/, 'guess']]),
    });
    expect(r.code).toBe(12);
    expect(r.output).toContain('cairn: wrong password');
    expect(r.output).not.toContain('guess');
  });

  it('init asks for the new password twice, without echo', async () => {
    const n = await Sandbox.create();
    try {
      const r = await runInPty(cairnCommandLine(['init', '--kdf-work', '1024']), {
        env: n.env({ CAIRN_PASSWORD: undefined }),
        interact: answer([
          [/enter new password: $/, 'typed at the prompt'],
          [/enter the new password again: $/, 'typed at the prompt'],
        ]),
      });
      expect(r.code).toBe(0);
      expect(r.output).toContain('created repository');
      expect(r.output).not.toContain('typed at');
      expectCode(await n.run(['snapshots'], { env: { CAIRN_PASSWORD: 'typed at the prompt' } }), 0);

      const m = await Sandbox.create();
      try {
        const mismatch = await runInPty(cairnCommandLine(['init', '--kdf-work', '1024']), {
          env: m.env({ CAIRN_PASSWORD: undefined }),
          interact: answer([
            [/enter new password: $/, 'one'],
            [/again: $/, 'two'],
          ]),
        });
        expect(mismatch.code).toBe(1);
        expect(mismatch.output).toContain('the passwords do not match');
        expectCode(await m.run(['snapshots']), 10); // nothing was created
      } finally {
        await m.remove();
      }
    } finally {
      await n.remove();
    }
  });
});

describe('progress bar layout', () => {
  it('keeps the ETA whole when long figures do not fit 80 columns (drops elapsed time, then rate)', async () => {
    const { Output } = await import('../../packages/cli/src/output.js');
    const { duration } = await import('../../packages/cli/src/format.js');
    const written: string[] = [];
    const stdout = { isTTY: true, columns: 0, write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream;
    const out = new Output({ json: false, quiet: false, progress: true, verbose: false }, stdout, stdout);
    const etaMs = 12 * 3600_000 + 34 * 60_000 + 56_000;
    out.event({
      type: 'progress',
      operation: 'backup',
      elapsedMs: 3 * 3600_000 + 25 * 60_000,
      filesDone: 1_234_567,
      filesTotal: 9_876_543,
      bytesDone: 1023.5 * 1024 ** 3,
      bytesTotal: 1023.9 * 1024 ** 4,
      totalsFinal: true,
      bytesPerSecond: 999.5 * 1024 ** 2,
      etaMs,
      currentFile: '/data/a/very/long/path/name.bin',
    });
    const line = written.at(-1)!.replace('\r\x1b[2K', '');
    expect(line.length).toBeLessThanOrEqual(79);
    const eta = `ETA ${duration(etaMs)}`;
    expect(line).toContain(eta);
    expect([undefined, ' ']).toContain(line[line.indexOf(eta) + eta.length]); // whole, not cut
    expect(line).toContain('1234567/9876543 files');
  });
});
