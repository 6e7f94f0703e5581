#!/usr/bin/env node
// The `cairn` executable: loads the built CLI and exits with its status.
import { main } from '../dist/main.js';

process.exitCode = await main(process.argv.slice(2));
