/**
 * The executable's first step (bin/cairn.js runs it before loading the CLI): when the command
 * will open a disk repository with a password from the environment or a regular file, start
 * deriving the key of the repository's first key file now. scrypt (~0.2 s on one core) then runs
 * on another core while the CLI loads (~50 ms), and `Repository.open` takes its result
 * (`deriveKeyAhead` in core). Anything unusual (another store, a password command or prompt, an
 * unreadable key) starts nothing, and the command derives as it always does: this step never
 * changes what a command does or reports, only when the derivation starts.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { deriveKeyAhead, isHexId } from '@cairn/core/startup';
import { GLOBAL_OPTIONS, parseArgsSpec, splitCommand } from './global-options.js';
import { passwordSource, stripNewline } from './password-source.js';
import { diskPath } from './store-location.js';

/** Key files are well under this; anything larger is left to the opening to refuse. */
const MAX_KEY_FILE_BYTES = 64n * 1024n;
const commandsDir = join(dirname(fileURLToPath(import.meta.url)), 'commands');

/** True for a command that opens an existing repository with its password (all but init). */
function opensRepository(name: string): boolean {
  if (name === 'init' || !/^[a-z][a-z-]*$/.test(name)) return false;
  return ['js', 'ts'].some((ext) => statSync(join(commandsDir, `${name}.${ext}`), { throwIfNoEntry: false })?.isFile());
}

/** The password the command will use, when it is known without running or asking anything. */
function knownPassword(values: Record<string, unknown>, env: NodeJS.ProcessEnv): string | undefined {
  const source = passwordSource(
    { file: values['password-file'] as string | undefined, command: values['password-command'] as string | undefined },
    env,
  );
  if (source.from === 'env') return source.value;
  // Only a regular file: reading a pipe here would take the password from the command. A bigint
  // stat on purpose: Node 20's fs.realpathSync, which resolves modules, reads the mode left by the
  // last plain synchronous stat for paths it has cached, and after a named pipe's it stops
  // resolving symlinks (the CLI then failed to load its dependencies).
  if (source.from === 'file' && statSync(source.file, { bigint: true }).isFile()) {
    return stripNewline(readFileSync(source.file, 'utf8'));
  }
  return undefined;
}

/**
 * Starts the key derivation for the command `argv` (without node and script) runs, when that is
 * safe (see above). Returns whether it started one. Never throws.
 */
export function deriveKeyEarly(argv: string[], env: NodeJS.ProcessEnv = process.env): boolean {
  try {
    const { name } = splitCommand(argv);
    if (!name || !opensRepository(name)) return false;
    if (argv.some((a) => a === '--help' || a === '-h' || a === '--version')) return false;
    // Not strict: the command's own options are unknown here (a misread one only means a
    // derivation nobody takes).
    const { values } = parseArgs({
      args: argv,
      options: parseArgsSpec(GLOBAL_OPTIONS),
      strict: false,
      allowPositionals: true,
    });
    const location = (values.repo as string | undefined) ?? env.CAIRN_REPOSITORY;
    const dir = location ? diskPath(location) : undefined;
    if (!dir) return false;
    const password = knownPassword(values, env);
    if (!password) return false;
    // The key the repository tries first: its key ids in order, as Repository.open lists them.
    const first = readdirSync(join(dir, 'keys')).filter(isHexId).sort()[0];
    if (!first) return false;
    const keyFile = join(dir, 'keys', first);
    const st = statSync(keyFile, { bigint: true }); // bigint: see knownPassword
    if (!st.isFile() || st.size > MAX_KEY_FILE_BYTES) return false; // the opening reports it
    return deriveKeyAhead(readFileSync(keyFile), password);
  } catch {
    return false; // the command itself reports whatever is wrong
  }
}
