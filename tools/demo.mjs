#!/usr/bin/env node
// The README's main job: the example pipeline (examples/pipeline) run by `runner exec` on the embedded default,
// the `local` fleeting plugin (instances are SSH servers on this machine), through the real `runner` binary that
// set-up linked into node_modules/.bin. It runs twice: the second run restores the cache the first one saved.
import { spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const runner = join(root, 'node_modules', '.bin', 'runner');
const args = ['exec', '--file', 'examples/pipeline/.gitlab-ci.yml', ...process.argv.slice(2)];
for (const round of [1, 2]) {
  console.log(`\n$ runner ${args.join(' ')}    # run ${round} of 2${round === 2 ? ': the build job now hits the cache' : ''}`);
  const r = spawnSync(runner, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
