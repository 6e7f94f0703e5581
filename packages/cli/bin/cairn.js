#!/usr/bin/env node
// The `cairn` executable: loads the built CLI and exits with its status.
import { setFlagsFromString } from 'node:v8';

// libuv's thread pool (4 threads by default) serves every file-system call and the index: a backup
// walking a tree, querying the index and writing packs at once wants more. It must be sized before
// the first asynchronous file-system call, hence before the CLI is loaded.
process.env.UV_THREADPOOL_SIZE ??= '16';

// V8 optimizes a function once it has run its interrupt budget of bytecode (66 KB by default).
// Tuned for long-lived programs, that compiles hundreds of lukewarm functions in each of a
// command's threads; the work that matters here runs in native and WebAssembly code. TurboFan
// took ~18 % of a restore's CPU time. A 30x budget optimizes only what stays hot: restore and
// first backup use 6-10 % less CPU (see docs/benchmarks.md). A budget given on the command line wins.
if (!process.execArgv.some((a) => a.startsWith('--interrupt-budget'))) setFlagsFromString('--interrupt-budget=2000000');

// Deriving the repository key (scrypt, ~0.2 s on one core) needs only the key file and the
// password: started now, it runs on another core while the CLI loads (see src/startup.ts).
(await import('../dist/startup.js')).deriveKeyEarly(process.argv.slice(2));

const { main } = await import('../dist/main.js');

process.exitCode = await main(process.argv.slice(2));
