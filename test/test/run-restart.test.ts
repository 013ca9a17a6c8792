import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpDir, waitFor } from '@fleetrunner/testing';
import { startGitLabStandin } from '../src/index.js';
import { alive, instanceDirs, noInstancesLeft, startManager, writeRunConfig } from './run-harness.js';

const NO_GIT = [{ key: 'GIT_STRATEGY', value: 'none', public: true }];

function savedAcquisitions(file: string): number {
  if (!existsSync(file)) return 0;
  const state = JSON.parse(readFileSync(file, 'utf8')) as { instances: { acquisitions: unknown[] }[] };
  return state.instances.reduce((n, i) => n + i.acquisitions.length, 0);
}

t.test('SIGKILL of the manager and a restart: no leaked instance, no job left running', async (t) => {
  const dir = tmpDir(t, { prefix: 'run-restart' });
  const s = await startGitLabStandin({ traceUpdateIntervalSeconds: 1, longPollMs: 5_000 });
  t.teardown(() => s.close());
  const { token } = s.registerRunner();
  const config = writeRunConfig({ dir, url: s.url, token, subnet: '127.81.6.0/24' });
  const short = token.replace(/^glrt-/, '').slice(0, 9);
  const stateFile = join(dir, '.taskscaler', short, 'instances.json');

  const first = startManager(t, config);
  const job = s.enqueueJob({ variables: NO_GIT, script: ['sleep 300 & echo "bg pid $!"', 'wait'] });
  await s.waitForTrace(job.id, (tr) => /^(?:\S+ [0-9a-f]{2}[OE][ +])?bg pid \d+$/m.test(tr));
  const pid = Number(/^(?:\S+ [0-9a-f]{2}[OE][ +])?bg pid (\d+)$/m.exec(s.traceOf(job.id))![1]);
  // The taskscaler saves its state at most once a second: wait until the acquisition is on disk.
  await waitFor(() => savedAcquisitions(stateFile) === 1, { what: 'the acquisition in the saved taskscaler state' });
  t.match(readFileSync(join(dir, '.taskscaler', short, 'jobs.json'), 'utf8'), `"id":${job.id}`, 'the running job is recorded');
  const plugins = first.pluginPids();
  first.child.kill('SIGKILL');
  t.same(await first.exited, { code: null, signal: 'SIGKILL' });
  await waitFor(() => plugins.every((p) => !alive(p)), { what: 'the plugin process to notice its host died and exit' });
  t.equal(s.jobs.get(job.id)?.status, 'running', 'GitLab still thinks the job runs');
  t.equal(instanceDirs(dir).length, 1, 'the instance outlived the manager, as a cloud VM would');

  const second = startManager(t, config);
  await s.waitForJobState(job.id, 'failed');
  t.equal(s.finalStateOf(job.id)?.failureReason, 'runner_system_failure');
  t.match(s.traceOf(job.id), /stopped without finishing it/, 'the log says why');
  await waitFor(() => !alive(pid), { what: `the abandoned job's process ${pid} to be killed with its instance`, timeoutMs: 20_000 });
  await second.waitForLog((e) => e.msg === 'abandoned job failed (runner_system_failure)' && e.job === job.id, 'the orphan report');

  const next = s.enqueueJob({ variables: NO_GIT, script: ['echo after the restart'] });
  await s.waitForJobState(next.id, ['success', 'failed']);
  t.equal(s.jobs.get(next.id)?.status, 'success', 'the restarted manager runs jobs');
  t.notMatch(readFileSync(join(dir, '.taskscaler', short, 'jobs.json'), 'utf8'), `"id":${job.id}`, 'the orphan is no longer recorded');

  second.child.kill('SIGQUIT');
  t.same(await second.exited, { code: 0, signal: null });
  await noInstancesLeft(dir);
});
