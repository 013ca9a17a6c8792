import t, { type Test } from 'tap';
import { FakeClock, RunnerError } from '@fleetrunner/common';
import { GitLabClient, JobPayloadError, JobTrace, errorLine, type RetryEvent, type GitLabClientOptions } from '@fleetrunner/gitlab';
import { startGitLabStandin, type GitLabStandin } from '../src/index.js';

const SYSTEM_ID = 's_0123456789ab';

async function standin(t: Test, options: Parameters<typeof startGitLabStandin>[0] = {}): Promise<GitLabStandin> {
  const s = await startGitLabStandin(options);
  t.teardown(() => s.close());
  return s;
}

function client(s: GitLabStandin, token: string, extra: Partial<GitLabClientOptions> = {}): GitLabClient {
  return new GitLabClient({ url: s.url, token, systemId: SYSTEM_ID, ...extra });
}

/** Advances the fake clock by each retry wait as soon as the client starts waiting. */
function autoRetry(clock: FakeClock, seen: RetryEvent[] = []): (e: RetryEvent) => void {
  return (e) => {
    seen.push(e);
    setImmediate(() => void clock.advance(e.delayMs));
  };
}

t.test('verify answers with the runner id for a known token and auth_failed for an unknown one', async (t) => {
  const s = await standin(t);
  const runner = s.registerRunner({ tokenExpiresAt: '2030-01-02T03:04:05Z' });
  const creds = await client(s, runner.token).verifyRunner();
  t.same(creds, { id: runner.id, token: runner.token, tokenExpiresAt: new Date('2030-01-02T03:04:05Z') });
  await t.rejects(client(s, 'glrt-unknown').verifyRunner(), { code: 'auth_failed', message: /verifying runner: HTTP 403/ });
  const req = s.requests.find((r) => r.path === '/api/v4/runners/verify');
  t.equal(req?.headers['runner-token'], runner.token, 'RUNNER-TOKEN header');
  t.match(req?.headers['x-request-id'], /^[0-9a-f]{32}$/, 'X-Request-Id is 32 hex digits');
  t.match(req?.headers['user-agent'], /^gitlab-runner /);
  t.equal(req?.headers['content-type'], 'application/json');
  t.equal(req?.headers['accept'], 'application/json');
});

t.test('legacy registration, token reset and manager removal', async (t) => {
  const s = await standin(t);
  const c0 = client(s, 'unused');
  await t.rejects(c0.registerRunner('wrong'), { code: 'auth_failed' });
  const reg = await c0.registerRunner(s.registrationToken, { description: 'r1', tags: ['a', 'b'] });
  t.ok(reg.id && reg.token.length > 10, 'a new runner');
  const c1 = client(s, reg.token);
  await c1.verifyRunner();
  const reset = await c1.resetToken();
  t.not(reset.token, reg.token);
  await t.rejects(c1.verifyRunner(), { code: 'auth_failed' }, 'the old token is dead');
  const c2 = client(s, reset.token);
  await c2.verifyRunner();
  await c2.unregisterManager();
  await t.rejects(c2.unregisterManager(), { code: 'not_found' }, 'the manager is gone');
  await c2.unregisterRunner();
  await t.rejects(c2.verifyRunner(), { code: 'auth_failed' });
});

t.test('job request: 204 with a queue version, a held long poll released by a new job, then 201', async (t) => {
  const s = await standin(t, { longPollMs: 60_000 });
  const { token } = s.registerRunner();
  const c = client(s, token);
  t.equal((await c.requestJob()).job, undefined, 'no job: 204');
  t.not(c.lastUpdate, '', 'X-GitLab-Last-Update remembered');

  const held = c.requestJob();
  await s.waitFor(() => s.heldRequests === 1);
  t.pass('the second request (last_update = queue version) is held');
  const queued = s.enqueueJob({ script: ['echo one'] });
  t.equal((await held).job, undefined, 'the hold ends with 204 when the queue changes');
  const { job } = await c.requestJob();
  t.equal(job?.id, queued.id, '201 with the job');
  t.equal(job?.token, queued.token);
  t.same(job?.steps[0]?.script, ['echo one']);
  t.equal(s.jobs.get(queued.id)?.status, 'pending', 'two-phase commit: GitLab waits for the runner to accept');
  const update = await c.updateJob(job!, { state: 'running' });
  t.equal(update.outcome, 'ok');
  t.equal(update.jobStatus, 'running');
  t.equal(s.jobs.get(queued.id)?.status, 'running');
});

t.test('a held job request is cancelled through its signal', async (t) => {
  const s = await standin(t, { longPollMs: 60_000 });
  const { token } = s.registerRunner();
  const c = client(s, token);
  await c.requestJob();
  const ac = new AbortController();
  const held = c.requestJob({ signal: ac.signal });
  await s.waitFor(() => s.heldRequests === 1);
  ac.abort(new RunnerError('aborted', 'shutting down'));
  await t.rejects(held, { code: 'aborted', message: 'shutting down' });
  await s.waitFor(() => s.heldRequests === 0);
  t.pass('the server saw the client go away');
});

t.test('Retry-After is honoured on the injected clock', async (t) => {
  const s = await standin(t);
  const { token } = s.registerRunner();
  const clock = new FakeClock();
  const waiting: RetryEvent[] = [];
  let onWait: (() => void) | undefined;
  const c = client(s, token, {
    clock,
    onRetry: (e) => {
      waiting.push(e);
      onWait?.();
    },
  });
  s.failNext({ method: 'POST', path: '/api/v4/jobs/request', status: 429, headers: { 'Retry-After': '7' }, body: { message: '429 Too Many Requests' } });
  const waited = new Promise<void>((r) => (onWait = r));
  const result = c.requestJob();
  await waited;
  t.match(waiting[0], { endpoint: 'request_job', status: 429, attempt: 1, delayMs: 7000, source: 'retry-after' });
  const before = s.requests.length;
  await clock.advance(6_999);
  t.equal(clock.pendingTimers, 1, 'still waiting after 6.999 s');
  t.equal(s.requests.length, before, 'no second request yet');
  await clock.advance(1);
  t.equal(clock.pendingTimers, 0, 'the wait ended at 7 s');
  t.match(await result, { job: undefined, status: 204, retries: 1 }, 'the retried request succeeded (204), and says it was retried');
  t.same(
    s.requests.slice(-2).map((r) => r.status),
    [429, 204],
  );
});

t.test('a runner without access gets auth_failed; a server that keeps failing reads as no job', async (t) => {
  const s = await standin(t);
  await t.rejects(client(s, 'glrt-nobody').requestJob(), { code: 'auth_failed' });
  const { token } = s.registerRunner();
  const clock = new FakeClock();
  const seen: RetryEvent[] = [];
  s.failNext({ method: 'POST', path: '/api/v4/jobs/request', status: 503, body: { message: '503 Service Unavailable' }, times: 5 });
  const c = client(s, token, { clock, onRetry: autoRetry(clock, seen), random: () => 0.5 });
  t.equal((await c.requestJob()).job, undefined);
  t.same(
    seen.map((e) => [e.attempt, e.source, e.delayMs]),
    [
      [1, 'backoff', 100],
      [2, 'backoff', 150],
      [3, 'backoff', 250],
      [4, 'backoff', 450],
    ],
    'four waits with exponential backoff and jitter, then the fifth answer is final',
  );
  t.equal(s.requests.filter((r) => r.status === 503).length, 5);
  const gone = await startGitLabStandin();
  await gone.close();
  const down = client(gone, token);
  await t.rejects(down.requestJob(), { code: 'connection_refused' }, 'a transport failure is an error (unhealthy)');
});

t.test('a malformed job is reported naming the field, failed with a reason, and polling goes on', async (t) => {
  const s = await standin(t, { longPollMs: 0 });
  const { token } = s.registerRunner();
  const c = client(s, token);
  const bad = s.enqueueJob({ rawOverride: { steps: [{ name: 'script', script: ['ok'], when: 'sometimes' }] } });
  const err = await c.requestJob().catch((e: unknown) => e);
  t.ok(err instanceof JobPayloadError, 'JobPayloadError');
  if (!(err instanceof JobPayloadError) || !err.job) return;
  t.equal(err.field, 'steps[0].when');
  t.same(err.job, { id: bad.id, token: bad.token });
  const accepted = await c.updateJob(err.job, { state: 'running' });
  t.equal(accepted.outcome, 'ok', 'accepted first (two-phase commit)');
  const trace = new JobTrace({ api: c, job: err.job, failureReasons: bad.payload.features?.failure_reasons ?? [] });
  trace.write(errorLine(`Job failed (system failure): ${err.message}`));
  const fin = await trace.finish({ state: 'failed', reason: 'runner_system_failure' });
  t.equal(fin.outcome, 'ok');
  t.match(s.finalStateOf(bad.id), { state: 'failed', failureReason: 'runner_system_failure' });
  t.match(s.traceOf(bad.id), /invalid job payload: steps\[0\]\.when: unsupported value "sometimes"/);
  t.equal((await c.requestJob()).job, undefined, 'the next poll works');
});
