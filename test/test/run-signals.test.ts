import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpDir, waitFor } from '@fleetrunner/testing';
import { GitLabClient, mapFailureReason } from '@fleetrunner/gitlab';
import { GITLAB_FAILURE_REASONS, startGitLabStandin } from '../src/index.js';
import { alive, noInstancesLeft, startManager, writeRunConfig } from './run-harness.js';

const NO_GIT = [{ key: 'GIT_STRATEGY', value: 'none', public: true }];

t.test('SIGQUIT drains: no new jobs, the running job finishes, then the manager and its plugin exit', async (t) => {
  const dir = tmpDir(t, { prefix: 'run-quit' });
  const s = await startGitLabStandin({ traceUpdateIntervalSeconds: 1, longPollMs: 5_000 });
  t.teardown(() => s.close());
  const { token } = s.registerRunner();
  const m = startManager(t, writeRunConfig({ dir, url: s.url, token, subnet: '127.81.3.0/24' }));
  const first = s.enqueueJob({ variables: NO_GIT, script: ['echo started', 'while [ ! -e "$HOME/go" ]; do sleep 0.1; done', 'echo finished'] });
  await s.waitForTrace(first.id, (tr) => /^(?:\S+ [0-9a-f]{2}[OE][ +])?started$/m.test(tr));
  m.child.kill('SIGQUIT');
  await m.waitForLog((e) => e.msg === 'graceful shutdown: no new jobs; waiting for running jobs to finish', 'the drain to start');
  const second = s.enqueueJob({ variables: NO_GIT, script: ['echo should not run'] });
  // Lets the running job end: the instance's home is the local plugin's instance dir.
  const home = /Dialing instance (local-\d+)/.exec(s.traceOf(first.id))![1]!;
  writeFileSync(`${dir}/plugin/instances/${home}/home/go`, '');
  const exit = await m.exited;
  t.same(exit, { code: 0, signal: null }, 'a clean exit once the job is done');
  t.equal(s.jobs.get(first.id)?.status, 'success', 'the running job finished');
  t.match(s.traceOf(first.id), /^(?:\S+ [0-9a-f]{2}[OE][ +])?finished$/m);
  t.equal(s.jobs.get(second.id)?.status, 'pending', 'no job was taken after SIGQUIT');
  t.equal(s.jobs.get(second.id)?.runnerToken, undefined);
  for (const pid of m.pluginPids()) t.notOk(alive(pid), `plugin process ${pid} is gone`);
  await noInstancesLeft(dir);
});

t.test('SIGTERM aborts running jobs as runner_interrupted within shutdown_timeout', async (t) => {
  const dir = tmpDir(t, { prefix: 'run-term' });
  const s = await startGitLabStandin({ traceUpdateIntervalSeconds: 1, longPollMs: 5_000 });
  t.teardown(() => s.close());
  const { token } = s.registerRunner();
  const m = startManager(t, writeRunConfig({ dir, url: s.url, token, subnet: '127.81.4.0/24', shutdownTimeoutS: 15 }));
  const job = s.enqueueJob({ variables: NO_GIT, script: ['sleep 300 & echo "bg pid $!"', 'wait'] });
  await s.waitForTrace(job.id, (tr) => /^(?:\S+ [0-9a-f]{2}[OE][ +])?bg pid \d+$/m.test(tr));
  const pid = Number(/^(?:\S+ [0-9a-f]{2}[OE][ +])?bg pid (\d+)$/m.exec(s.traceOf(job.id))![1]);
  const started = Date.now();
  m.child.kill('SIGTERM');
  const exit = await m.exited;
  t.same(exit, { code: 0, signal: null }, 'everything stopped within shutdown_timeout');
  t.ok(Date.now() - started < 15_000, 'within shutdown_timeout');
  t.equal(s.jobs.get(job.id)?.status, 'failed');
  t.equal(s.finalStateOf(job.id)?.failureReason, mapFailureReason('runner_interrupted', GITLAB_FAILURE_REASONS), 'runner_interrupted, as this GitLab accepts it');
  t.match(s.traceOf(job.id), /runner_interrupted/);
  await waitFor(() => !alive(pid), { what: `remote pid ${pid} to die`, timeoutMs: 10_000 });
  for (const p of m.pluginPids()) t.notOk(alive(p), `plugin process ${p} is gone`);
  await noInstancesLeft(dir);
});

t.test('SIGHUP reloads the config: policies apply live, other autoscaler keys are reported as needing a restart', async (t) => {
  const dir = tmpDir(t, { prefix: 'run-hup' });
  const s = await startGitLabStandin({ traceUpdateIntervalSeconds: 1, longPollMs: 5_000 });
  t.teardown(() => s.close());
  const { token } = s.registerRunner();
  const file = writeRunConfig({ dir, url: s.url, token, subnet: '127.81.5.0/24' });
  const m = startManager(t, file);
  const job = s.enqueueJob({ variables: NO_GIT, script: ['echo warm-up'] });
  await s.waitForJobState(job.id, 'success');
  const text = readFileSync(file, 'utf8');
  t.match(await m.metrics(), /^fleeting_provisioner_instances\{[^}]*state="running"\} 1$/m, 'one instance before the reload');
  writeFileSync(file, text.replace('idle_count = 0', 'idle_count = 4').replace('deletion_retry_interval = "1s"', 'deletion_retry_interval = "2s"').replace('concurrent = 4', 'concurrent = 6'));
  m.child.kill('SIGHUP');
  await m.waitForLog((e) => e.msg === 'autoscaler policies re-applied', 'the policies to be re-applied');
  const restart = await m.waitForLog((e) => e.msg === 'config changes that need a restart were not applied', 'the restart warning');
  t.same(restart.keys, ['runners[0].autoscaler.deletion_retry_interval']);
  await waitFor(async () => /^gitlab_runner_concurrent 6$/m.test(await m.metrics()), { what: 'concurrent 6 in the metrics' });
  // idle_count = 4 idle slots at 2 slots per instance: the fleet grows to its 2 instances without a job.
  await waitFor(async () => /^fleeting_provisioner_instances\{[^}]*state="running"\} 2$/m.test(await m.metrics()), { what: 'two running instances', timeoutMs: 20_000 });
  m.child.kill('SIGQUIT');
  t.same(await m.exited, { code: 0, signal: null });
  await noInstancesLeft(dir);
});

t.test('a reloaded runner with the same URL and id but a new token keeps its autoscaler', async (t) => {
  const dir = tmpDir(t, { prefix: 'run-rotate' });
  const s = await startGitLabStandin({ traceUpdateIntervalSeconds: 1, longPollMs: 5_000 });
  t.teardown(() => s.close());
  const { id, token } = s.registerRunner();
  const file = writeRunConfig({ dir, url: s.url, token, subnet: '127.81.12.0/24', runnerExtra: `id = ${id}` });
  const m = startManager(t, file);
  const before = s.enqueueJob({ variables: NO_GIT, script: ['echo with the old token'] });
  await s.waitForJobState(before.id, 'success');
  const rotated = await new GitLabClient({ url: s.url, token }).resetToken();
  writeFileSync(file, readFileSync(file, 'utf8').replace(token, rotated.token));
  m.child.kill('SIGHUP');
  await m.waitForLog((e) => e.msg === 'config reloaded', 'the reload');
  const after = s.enqueueJob({ variables: NO_GIT, script: ['echo with the new token'] });
  await s.waitForJobState(after.id, ['success', 'failed']);
  t.equal(s.jobs.get(after.id)?.status, 'success');
  t.equal(s.jobs.get(after.id)?.runnerToken, rotated.token, 'the job was requested with the new token');
  t.equal(m.pluginPids().length, 1, 'the same plugin process (one autoscaler per URL and id)');
  t.match(s.traceOf(after.id), /Dialing instance local-1\.\.\./, 'on the same instance');
  m.child.kill('SIGQUIT');
  t.same(await m.exited, { code: 0, signal: null });
  await noInstancesLeft(dir);
});
