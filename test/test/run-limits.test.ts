import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpDir } from '@fleetrunner/testing';
import { startGitLabStandin } from '../src/index.js';
import { noInstancesLeft, startManager, writeRunConfig } from './run-harness.js';

t.test('limit caps the jobs of a runner at once, and follows a config reload', async (t) => {
  const dir = tmpDir(t, { prefix: 'run-limit' });
  const s = await startGitLabStandin({ traceUpdateIntervalSeconds: 1, longPollMs: 5_000 });
  t.teardown(() => s.close());
  const { token } = s.registerRunner();
  const file = writeRunConfig({ dir, url: s.url, token, subnet: '127.81.11.0/24', runnerExtra: 'limit = 1' });
  const m = startManager(t, file);
  // Local instances run on this machine as this user: a directory of the test serves as a lock that tells overlaps.
  const lock = join(dir, 'lock');
  const job = (seconds: number): number =>
    s.enqueueJob({
      variables: [{ key: 'GIT_STRATEGY', value: 'none', public: true }],
      script: [`if mkdir ${lock} 2>/dev/null; then echo alone; sleep ${seconds}; rmdir ${lock}; else echo OVERLAP; sleep ${seconds}; fi`],
    }).id;
  const done = (ids: number[]): Promise<void[]> => Promise.all(ids.map((id) => s.waitForJobState(id, ['success', 'failed'])));

  const limited = [job(1), job(1), job(1)];
  await done(limited);
  t.same(limited.map((id) => s.jobs.get(id)?.status), ['success', 'success', 'success']);
  t.same(limited.map((id) => /^(?:\S+ [0-9a-f]{2}[OE][ +])?(alone|OVERLAP)$/m.exec(s.traceOf(id))?.[1]), ['alone', 'alone', 'alone'], 'one job at a time');
  t.match(await m.metrics(), /^gitlab_runner_limit\{runner="[^"]+",runner_name="e2e",system_id="[^"]+"\} 1$/m);

  writeFileSync(file, readFileSync(file, 'utf8').replace('limit = 1', 'limit = 0'));
  m.child.kill('SIGHUP');
  await m.waitForLog((e) => e.msg === 'config reloaded' && Array.isArray(e.changes) && e.changes.includes('runners[0].limit'), 'the reload');
  // Long enough that a loaded machine still starts the second job while the first one runs.
  const free = [job(4), job(4)];
  await done(free);
  t.ok(free.some((id) => /^(?:\S+ [0-9a-f]{2}[OE][ +])?OVERLAP$/m.test(s.traceOf(id))), 'without a limit the two jobs ran at the same time');

  m.child.kill('SIGQUIT');
  t.same(await m.exited, { code: 0, signal: null });
  await noInstancesLeft(dir);
});
