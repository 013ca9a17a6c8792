import t from 'tap';
import { tmpDir, waitFor } from '@fleetrunner/testing';
import { startGitLabStandin } from '../src/index.js';
import { noInstancesLeft, startManager, writeRunConfig } from './run-harness.js';

const NO_GIT = [{ key: 'GIT_STRATEGY', value: 'none', public: true }];

t.test('a malformed job payload fails that job with a clear reason; the manager keeps serving', async (t) => {
  const dir = tmpDir(t, { prefix: 'run-bad-payload' });
  const s = await startGitLabStandin({ traceUpdateIntervalSeconds: 1, longPollMs: 5_000 });
  t.teardown(() => s.close());
  const { token } = s.registerRunner();
  const m = startManager(t, writeRunConfig({ dir, url: s.url, token, subnet: '127.81.7.0/24' }));
  const bad = s.enqueueJob({ rawOverride: { steps: [{ name: 'script', script: ['echo hi'], timeout: 60, when: 'sometimes', allow_failure: false }] } });
  await s.waitForJobState(bad.id, 'failed');
  t.equal(s.finalStateOf(bad.id)?.failureReason, 'runner_system_failure');
  t.match(s.traceOf(bad.id), /invalid job payload: steps\[0\]\.when/, 'the log names the bad field');
  const good = s.enqueueJob({ variables: NO_GIT, script: ['echo fine'] });
  await s.waitForJobState(good.id, ['success', 'failed']);
  t.equal(s.jobs.get(good.id)?.status, 'success', 'the next job runs');
  m.child.kill('SIGQUIT');
  t.same(await m.exited, { code: 0, signal: null });
  await noInstancesLeft(dir);
});

t.test('5xx answers to job requests back off, then polling resumes', async (t) => {
  const dir = tmpDir(t, { prefix: 'run-5xx' });
  const s = await startGitLabStandin({ traceUpdateIntervalSeconds: 1, longPollMs: 5_000 });
  t.teardown(() => s.close());
  const { token } = s.registerRunner();
  // Two requests' worth: the client itself tries each request 5 times.
  s.failNext({ method: 'POST', path: '/api/v4/jobs/request', status: 502, body: '502 Bad Gateway', times: 10 });
  const m = startManager(t, writeRunConfig({ dir, url: s.url, token, subnet: '127.81.8.0/24' }));
  const backoffs = async (n: number): Promise<number[]> => {
    await waitFor(() => m.log.filter((e) => e.msg === 'checking for jobs failed: backing off').length >= n, { what: `${n} back-offs`, timeoutMs: 30_000 });
    return m.log.filter((e) => e.msg === 'checking for jobs failed: backing off').map((e) => e.delayMs as number);
  };
  t.same(await backoffs(2), [1000, 2000], 'the back-off doubles');
  const job = s.enqueueJob({ variables: NO_GIT, script: ['echo after the outage'] });
  await s.waitForJobState(job.id, ['success', 'failed']);
  t.equal(s.jobs.get(job.id)?.status, 'success');
  const requests = s.requests.filter((r) => r.path === '/api/v4/jobs/request');
  t.same(requests.slice(0, 10).map((r) => r.status), Array(10).fill(502), 'each request was retried by the client');
  // Every attempt counts (upstream's counter does), by path: the 10 failed ones and the later ones, all seen by GitLab.
  const attempts = Number(/^gitlab_runner_api_request_retries_total\{path="\/api\/v4\/jobs\/request",method="post"\} (\d+)$/m.exec(await m.metrics())?.[1]);
  t.ok(attempts >= 10 && attempts <= s.requests.filter((r) => r.path === '/api/v4/jobs/request').length, `request attempts counted (${attempts})`);
  m.child.kill('SIGQUIT');
  t.same(await m.exited, { code: 0, signal: null });
});

t.test('403 marks a runner unhealthy after unhealthy_requests_limit failures; it is skipped for unhealthy_interval', async (t) => {
  const dir = tmpDir(t, { prefix: 'run-403' });
  const s = await startGitLabStandin({ traceUpdateIntervalSeconds: 1, longPollMs: 0 });
  t.teardown(() => s.close());
  const { token } = s.registerRunner();
  const badToken = 'glrt-not-a-known-token';
  const m = startManager(
    t,
    writeRunConfig({
      dir,
      url: s.url,
      token,
      subnet: '127.81.9.0/24',
      moreRunners: `
[[runners]]
name = "revoked"
url = "${s.url}"
token = "${badToken}"
executor = "instance"
unhealthy_requests_limit = 2
unhealthy_interval = "1h"
[runners.autoscaler]
plugin = "local"
max_instances = 1
[runners.autoscaler.plugin_config]
subnet = "127.81.10.0/24"
state_dir = "${dir}/plugin-revoked"
`,
    }),
  );
  const by = (tok: string): number => s.requests.filter((r) => r.path === '/api/v4/jobs/request' && r.headers['runner-token'] === tok).length;
  await waitFor(() => by(badToken) >= 2, { what: 'two requests of the revoked runner', timeoutMs: 30_000 });
  const goodBefore = by(token);
  // The feeder alternates between the two runners: the healthy one's requests measure the passing rounds.
  await waitFor(() => by(token) >= goodBefore + 4, { what: 'four more rounds of the healthy runner', timeoutMs: 30_000 });
  t.equal(by(badToken), 2, 'no request after the limit was reached');
  t.ok(s.requests.filter((r) => r.headers['runner-token'] === badToken).every((r) => r.status === 403));
  await m.waitForLog((e) => e.msg === 'runner is not healthy and will be disabled' && e.runner === 'not-a-kno', 'the unhealthy log');
  t.match(await m.metrics(), /^gitlab_runner_worker_health_check_failures_total\{runner="not-a-kno"[^}]*\} 2$/m);
  const job = s.enqueueJob({ variables: NO_GIT, script: ['echo healthy runner works'] });
  await s.waitForJobState(job.id, ['success', 'failed']);
  t.equal(s.jobs.get(job.id)?.status, 'success');
  m.child.kill('SIGQUIT');
  t.same(await m.exited, { code: 0, signal: null });
});
