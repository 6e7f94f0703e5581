#!/usr/bin/env node
// The `cairn` executable: loads the built CLI and exits with its status.
// libuv's thread pool (4 threads by default) serves every file-system call and the index: a backup
// walking a tree, querying the index and writing packs at once wants more. It must be sized before
// the first asynchronous file-system call, hence before the CLI is loaded.
process.env.UV_THREADPOOL_SIZE ??= '16';
const { main } = await import('../dist/main.js');

process.exitCode = await main(process.argv.slice(2));
