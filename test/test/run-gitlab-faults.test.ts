// `runner run` against a GitLab that misbehaves on the wire: dropped connections, requests never answered,
// outages of the job request, non-JSON answers. Everything goes through the real binary and the stand-in's faults.
import t, { type Test } from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { tmpDir, waitFor } from '@fleetrunner/testing';
import { startGitLabStandin, type GitLabStandin } from '../src/index.js';
import { guardCatches, noInstancesLeft, startManager, writeRunConfig, type LogEntry, type ManagerProcess } from './run-harness.js';

// Requests without progress fail after 3 s instead of 10 min (documented in packages/manager/README.md). The
// stand-in holds a job request for 1 s, below it, as GitLab's 50 s long poll stays below the default.
process.env['FLEETRUNNER_GITLAB_RESPONSE_HEADER_TIMEOUT'] = '3s';
const STANDIN = { traceUpdateIntervalSeconds: 1, longPollMs: 1_000 };
const NO_GIT = [{ key: 'GIT_STRATEGY', value: 'none', public: true }];
const JOB_REQUEST = '/api/v4/jobs/request';

const shortOf = (token: string): string => token.replace(/^glrt-/, '').slice(0, 9);
const inflightFile = (dir: string, token: string): string => join(dir, '.taskscaler', shortOf(token), 'jobs.json');
const recorded = (dir: string, token: string, id: number): boolean => existsSync(inflightFile(dir, token)) && readFileSync(inflightFile(dir, token), 'utf8').includes(`"id":${id}`);
const unanswered = (s: GitLabStandin, method: string, path: string): number => s.requests.filter((r) => r.method === method && r.path === path && r.status === 0).length;
const logged = (m: ManagerProcess, msg: string | RegExp, job?: number): LogEntry[] =>
  m.log.filter((e) => (typeof msg === 'string' ? e.msg === msg : msg.test(e.msg)) && (job === undefined || e.job === job));

/** Drains the manager; no fault of these tests may have reached its process-level guard. */
async function stop(t: Test, m: ManagerProcess): Promise<void> {
  m.child.kill('SIGQUIT');
  await m.exited;
  t.same(guardCatches(m), [], 'no error reached the process-level guard');
}

t.test('a final PUT whose connection drops is retried with back-off; the job ends success on GitLab', async (t) => {
  const dir = tmpDir(t, { prefix: 'run-faults-put' });
  const s = await startGitLabStandin(STANDIN);
  t.teardown(() => s.close());
  const { token } = s.registerRunner();
  const m = startManager(t, writeRunConfig({ dir, url: s.url, token, subnet: '127.83.1.0/24' }));
  const job = s.enqueueJob({ variables: NO_GIT, script: ['echo working', 'sleep 2'] });
  // Accepted: from now on the only PUTs are the final ones (a keep-alive comes after 30 s of silence only).
  await s.waitForJobState(job.id, 'running');
  const put = `/api/v4/jobs/${job.id}`;
  s.failNext({ method: 'PUT', path: put, action: 'drop', times: 3 });
  await s.waitForJobState(job.id, ['success', 'failed', 'canceled'], { signal: AbortSignal.timeout(60_000) });
  t.equal(s.jobs.get(job.id)?.status, 'success', 'GitLab got the final state');
  t.equal(unanswered(s, 'PUT', put), 3, 'three final PUTs lost their connection');
  const retries = logged(m, 'sending the final job state failed; retrying', job.id);
  t.same(
    retries.map((e) => e.delayMs),
    [1000, 2000, 4000],
    'each retry waited the back-off (1 s doubling)',
  );
  const done = await m.waitForLog((e) => e.msg === 'job finished' && e.job === job.id, 'the job end');
  t.equal(done.update, 'ok');
  await waitFor(() => !recorded(dir, token, job.id), { what: 'the in-flight record to be removed' });
  await stop(t, m);
  await noInstancesLeft(dir);
});

t.test('an acceptance PUT whose connection drops is resent; the job runs and is reported', async (t) => {
  const dir = tmpDir(t, { prefix: 'run-faults-accept' });
  const s = await startGitLabStandin(STANDIN);
  t.teardown(() => s.close());
  const { token } = s.registerRunner();
  const job = s.enqueueJob({ variables: NO_GIT, script: ['echo accepted'] });
  // The first PUT of the job is its acceptance (two-phase commit).
  s.failNext({ method: 'PUT', path: `/api/v4/jobs/${job.id}`, action: 'drop', times: 2 });
  const m = startManager(t, writeRunConfig({ dir, url: s.url, token, subnet: '127.83.7.0/24' }));
  await s.waitForJobState(job.id, ['success', 'failed', 'canceled'], { signal: AbortSignal.timeout(60_000) });
  t.equal(s.jobs.get(job.id)?.status, 'success');
  t.same(
    logged(m, 'accepting the job got no answer; retrying', job.id).map((e) => e.delayMs),
    [1000, 2000],
    'resent after the back-off',
  );
  t.equal(logged(m, 'job dropped: GitLab did not confirm it', job.id).length, 0);
  await stop(t, m);
  await noInstancesLeft(dir);
});

t.test('a final PUT that fails past job_status_final_update_retry_limit: error log, record kept, the next start fails the job', async (t) => {
  const dir = tmpDir(t, { prefix: 'run-faults-giveup' });
  const s = await startGitLabStandin(STANDIN);
  t.teardown(() => s.close());
  const { token } = s.registerRunner();
  const config = writeRunConfig({ dir, url: s.url, token, subnet: '127.83.2.0/24', runnerExtra: 'job_status_final_update_retry_limit = 2' });
  const first = startManager(t, config);
  const job = s.enqueueJob({ variables: NO_GIT, script: ['echo working', 'sleep 2'] });
  await s.waitForJobState(job.id, 'running');
  const put = `/api/v4/jobs/${job.id}`;
  s.failNext({ method: 'PUT', path: put, action: 'drop', times: 1000 });
  const gaveUp = await first.waitForLog((e) => e.msg.startsWith('giving up sending the final job state') && e.job === job.id, 'the give-up', 60_000);
  t.equal(gaveUp.level, 'error', 'the give-up is an error');
  t.equal(gaveUp.attempts, 3, 'the first attempt and two retries');
  const kept = await first.waitForLog((e) => e.msg.startsWith('the job stays recorded as in flight') && e.job === job.id, 'the kept record');
  t.equal(kept.level, 'error');
  t.ok(recorded(dir, token, job.id), 'the job is still recorded as in flight');
  t.equal(s.jobs.get(job.id)?.status, 'running', 'GitLab still has the job as running');
  await stop(t, first);
  t.ok(recorded(dir, token, job.id), 'the record survives the manager');

  s.clearFaults(put);
  const second = startManager(t, config);
  await s.waitForJobState(job.id, 'failed', { signal: AbortSignal.timeout(60_000) });
  t.equal(s.finalStateOf(job.id)?.failureReason, 'runner_system_failure');
  await second.waitForLog((e) => e.msg === 'abandoned job failed (runner_system_failure)' && e.job === job.id, 'the orphan report');
  await waitFor(() => !recorded(dir, token, job.id), { what: 'the record to be dealt with' });
  await stop(t, second);
  await noInstancesLeft(dir);
});

t.test('a malformed job whose final PUT is lost stays recorded; the next start retries failing it past a 5xx', async (t) => {
  const dir = tmpDir(t, { prefix: 'run-faults-malformed' });
  const s = await startGitLabStandin(STANDIN);
  t.teardown(() => s.close());
  const { token } = s.registerRunner();
  const config = writeRunConfig({ dir, url: s.url, token, subnet: '127.83.6.0/24', runnerExtra: 'job_status_final_update_retry_limit = 1' });
  const first = startManager(t, config);
  const bad = s.enqueueJob({ rawOverride: { steps: [{ name: 'script', script: ['echo hi'], timeout: 60, when: 'sometimes', allow_failure: false }] } });
  const put = `/api/v4/jobs/${bad.id}`;
  // Registered while the acceptance is being answered: it takes every later PUT.
  await s.waitForJobState(bad.id, 'running');
  s.failNext({ method: 'PUT', path: put, action: 'drop', times: 1000 });
  await first.waitForLog((e) => e.msg.startsWith('the job stays recorded as in flight') && e.job === bad.id, 'the kept record', 60_000);
  t.ok(recorded(dir, token, bad.id), 'the malformed job is recorded as in flight');
  await stop(t, first);
  s.clearFaults(put);
  // The restart's `running` touch and then its `failed` PUT each get 503 five times (the client's attempts).
  s.failNext({ method: 'PUT', path: put, status: 503, body: { message: '503 Service Unavailable' }, times: 10 });
  const second = startManager(t, config);
  await s.waitForJobState(bad.id, 'failed', { signal: AbortSignal.timeout(60_000) });
  t.equal(s.finalStateOf(bad.id)?.failureReason, 'runner_system_failure');
  t.ok(logged(second, 'failing an abandoned job', bad.id).length >= 1, 'the 5xx was retried, not taken for "already finished"');
  await waitFor(() => !recorded(dir, token, bad.id), { what: 'the record to be dealt with' });
  await stop(t, second);
});

t.test('a trace PATCH that is never answered times out; the job finishes and frees its slot', async (t) => {
  const dir = tmpDir(t, { prefix: 'run-faults-patch' });
  const s = await startGitLabStandin(STANDIN);
  t.teardown(() => s.close());
  const { token } = s.registerRunner();
  // One job at a time: the second job can only start once the first gave its slot back.
  const m = startManager(t, writeRunConfig({ dir, url: s.url, token, subnet: '127.83.3.0/24', concurrent: 1, runnerExtra: 'limit = 1' }));
  const job = s.enqueueJob({ variables: NO_GIT, script: ['echo one', 'sleep 1', 'echo two'] });
  const patch = `/api/v4/jobs/${job.id}/trace`;
  s.failNext({ method: 'PATCH', path: patch, action: 'hang', times: 2 });
  await s.waitForJobState(job.id, ['success', 'failed', 'canceled'], { signal: AbortSignal.timeout(60_000) });
  t.equal(s.jobs.get(job.id)?.status, 'success');
  t.match(s.traceOf(job.id), /^(?:\S+ [0-9a-f]{2}[OE][ +])?one$[\s\S]*^(?:\S+ [0-9a-f]{2}[OE][ +])?two$/m, 'the whole log arrived after the timeouts');
  t.equal(unanswered(s, 'PATCH', patch), 2, 'both held PATCHes were given up by the runner');
  const warned = logged(m, /trace/, job.id).filter((e) => e.level === 'warn' && /no response within 3s/.test(String(e.error)));
  t.ok(warned.length >= 1, 'the timed-out PATCH is logged');
  const next = s.enqueueJob({ variables: NO_GIT, script: ['echo next'] });
  await s.waitForJobState(next.id, ['success', 'failed', 'canceled'], { signal: AbortSignal.timeout(60_000) });
  t.equal(s.jobs.get(next.id)?.status, 'success', 'the slot was freed for the next job');
  await stop(t, m);
  await noInstancesLeft(dir);
});

t.test('after a 20 s outage of the job request the runner takes jobs again as soon as GitLab answers', async (t) => {
  const dir = tmpDir(t, { prefix: 'run-faults-outage' });
  const s = await startGitLabStandin(STANDIN);
  t.teardown(() => s.close());
  const { token } = s.registerRunner();
  // unhealthy_interval stays at its default, 60 minutes.
  const m = startManager(t, writeRunConfig({ dir, url: s.url, token, subnet: '127.83.4.0/24', runnerExtra: 'unhealthy_requests_limit = 2' }));
  await waitFor(() => s.requests.some((r) => r.path === JOB_REQUEST), { what: 'the first job request', timeoutMs: 30_000 });
  const outageStart = Date.now();
  // One job request answered 503 (the client tries it five times), then every connection dropped.
  s.failNext({ method: 'POST', path: JOB_REQUEST, status: 503, body: { message: '503 Service Unavailable' }, times: 5 });
  s.failNext({ method: 'POST', path: JOB_REQUEST, action: 'drop', times: 100_000 });
  const unhealthy = await m.waitForLog((e) => e.msg === 'runner is not healthy and will be disabled', 'the runner to become unhealthy', 30_000);
  t.equal(unhealthy.level, 'error');
  await sleep(Math.max(0, 20_000 - (Date.now() - outageStart)));
  t.ok(unanswered(s, 'POST', JOB_REQUEST) >= 3, 'the unhealthy runner kept probing during the outage');
  s.clearFaults(JOB_REQUEST);
  const back = Date.now();
  const job = s.enqueueJob({ variables: NO_GIT, script: ['echo after the outage'] });
  await s.waitForJobState(job.id, ['success', 'failed', 'canceled'], { signal: AbortSignal.timeout(120_000) });
  const resumedAfterS = (Date.now() - back) / 1000;
  t.equal(s.jobs.get(job.id)?.status, 'success');
  t.ok(resumedAfterS < 90, `the job ran ${resumedAfterS.toFixed(1)} s after GitLab came back (probe back-off ≤ 60 s), not after unhealthy_interval (60 min)`);
  t.ok(logged(m, 'runner is healthy again: GitLab answered').length >= 1, 'the recovery is logged');
  await stop(t, m);
  await noInstancesLeft(dir);
});

t.test('the job request: honest features, and no token or secret from an answer in the log', async (t) => {
  const dir = tmpDir(t, { prefix: 'run-faults-body' });
  const s = await startGitLabStandin(STANDIN);
  t.teardown(() => s.close());
  const { token } = s.registerRunner();
  const secret = 'hunter2-masked-value';
  const plainJobToken = 'plainjobtoken0123456789';
  const job = s.enqueueJob({ variables: [...NO_GIT, { key: 'PASSWORD', value: secret, masked: true, public: false }], script: ['echo ok'] });
  // A 201 that is not JSON (a proxy's page, say) carrying a job payload: its job token, a masked variable.
  const payload = JSON.stringify({ ...s.jobs.get(job.id)!.payload, id: 999_999, token: plainJobToken });
  s.failNext({ method: 'POST', path: JOB_REQUEST, status: 201, headers: { 'Content-Type': 'text/html' }, body: `<pre>PASSWORD=${secret}\n${payload}</pre>` });
  // An error answer that quotes a token of GitLab's: masked by its prefix.
  s.failNext({ method: 'POST', path: JOB_REQUEST, status: 409, body: `409 Conflict: job token ${job.token} is in use` });
  const m = startManager(t, writeRunConfig({ dir, url: s.url, token, subnet: '127.83.5.0/24' }));
  await s.waitForJobState(job.id, ['success', 'failed', 'canceled'], { signal: AbortSignal.timeout(60_000) });
  t.equal(s.jobs.get(job.id)?.status, 'success', 'polling went on and the real job ran');

  await t.test('the features say only what the runner does', async (t) => {
    const features = s.featuresOf(token);
    t.ok(features, 'the job request sent features');
    t.notOk(features?.['vault_secrets'], 'no vault_secrets: secrets: jobs are not supported');
    t.notOk(features?.['native_steps_integration'], 'no native_steps_integration: run: jobs are not supported');
    t.notOk(features?.['job_inputs'], 'no job_inputs: inputs are not interpolated');
    t.match(features, { variables: true, artifacts: true, cache: true, masking: true, two_phase_job_commit: true, cancel_gracefully: true });
  });

  await t.test('the log never quotes a job token or a masked value', async (t) => {
    const text = JSON.stringify(m.log) + m.other.join('\n');
    t.ok(logged(m, 'checking for jobs failed: backing off').some((e) => /unexpected content type text\/html/.test(String(e.error))), 'the non-JSON answer is reported');
    t.ok(m.log.some((e) => /glcbt-\[MASKED\]/.test(JSON.stringify(e))), 'the error answer is quoted, its token masked');
    t.notOk(text.includes(plainJobToken), 'no job token without a prefix');
    t.notOk(text.includes(job.token), 'no glcbt- job token');
    t.notOk(text.includes(secret), 'no masked variable value');
  });
  await stop(t, m);
  await noInstancesLeft(dir);
});
