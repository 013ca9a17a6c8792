#!/usr/bin/env node
// The README's main job: runs on the embedded default, the `local` fleeting plugin (instances are SSH servers on
// this machine), through the real `runner` binary that set-up linked into node_modules/.bin.
import { spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const runner = join(root, 'node_modules', '.bin', 'runner');
const args = ['fleeting', 'conformance', 'local', ...process.argv.slice(2)];
console.log(`$ runner ${args.join(' ')}`);
const r = spawnSync(runner, args, { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
