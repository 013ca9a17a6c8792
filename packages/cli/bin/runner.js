#!/usr/bin/env node
// The `runner` command: everything lives in the compiled CLI package.
import { main } from '../dist/src/main.js';

process.exitCode = await main(process.argv.slice(2));
