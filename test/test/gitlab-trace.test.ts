import t, { type Test } from 'tap';
import { FakeClock } from '@fleetrunner/common';
import { GitLabClient, JobTrace, MASK, limitNotice, type JobPayload, type JobTraceOptions, type PatchTraceResult, type UpdateJobResult } from '@fleetrunner/gitlab';
import { startGitLabStandin, checksumOf, type GitLabStandin, type GitLabStandinOptions, type JobSpec } from '../src/index.js';

type Round = { patch: PatchTraceResult; touch?: UpdateJobResult };

interface Setup {
  s: GitLabStandin;
  c: GitLabClient;
  job: JobPayload;
  clock: FakeClock;
  trace: JobTrace;
  /** Advances the clock by `ms` (default: the current interval) and resolves when the loop round it fired ends. */
  round(ms?: number): Promise<Round>;
}

async function setup(t: Test, o: { standin?: GitLabStandinOptions; spec?: JobSpec; trace?: Partial<JobTraceOptions> } = {}): Promise<Setup> {
  const s = await startGitLabStandin({ longPollMs: 0, ...o.standin });
  t.teardown(() => s.close());
  const { token } = s.registerRunner();
  const c = new GitLabClient({ url: s.url, token });
  s.enqueueJob(o.spec ?? {});
  const { job } = await c.requestJob();
  if (!job) throw new Error('no job handed out');
  t.equal((await c.updateJob(job, { state: 'running' })).outcome, 'ok', 'job accepted');
  const clock = new FakeClock();
  const waiters: ((r: Round) => void)[] = [];
  const trace = new JobTrace({
    api: c,
    job,
    clock,
    mask: { phrases: job.variables.filter((v) => v.masked).map((v) => v.value), tokenPrefixes: job.features.tokenMaskPrefixes },
    failureReasons: job.features.failureReasons,
    onRound: (r) => waiters.shift()?.(r),
    ...o.trace,
  });
  trace.start();
  t.teardown(() => trace.stop());
  const round = async (ms?: number): Promise<Round> => {
    const done = new Promise<Round>((r) => waiters.push(r));
    await clock.advance(ms ?? trace.updateInterval);
    return done;
  };
  return { s, c, job, clock, trace, round };
}

/** Runs `p` while moving the fake clock forward whenever something waits on it. */
async function driving<T>(clock: FakeClock, p: Promise<T>): Promise<T> {
  let settled = false;
  const out = p.finally(() => (settled = true));
  while (!settled) {
    await new Promise((r) => setImmediate(r));
    if (clock.pendingTimers > 0) await clock.advance(250);
  }
  return out;
}

const patchRanges = (s: GitLabStandin): string[] => s.requests.filter((r) => r.method === 'PATCH').map((r) => `${r.status} ${String(r.headers['content-range'])}`);

t.test('the log is sent incrementally with Content-Range, then the final state with checksum and size', async (t) => {
  const { s, job, trace, round } = await setup(t);
  trace.write('line 1\n');
  trace.write('line 2\n');
  const r1 = await round();
  t.equal(r1.patch.outcome, 'ok');
  t.equal(s.traceOf(job.id), 'line 1\nline 2\n');
  t.notOk(r1.touch, 'no keep-alive when the log itself was just sent');
  trace.write('line 3\n');
  await round();
  t.equal(s.traceOf(job.id), 'line 1\nline 2\nline 3\n');
  t.equal(trace.acknowledgedBytes, 21);
  trace.write('last line\n');
  const fin = await trace.finish({ state: 'success' });
  t.match(fin, { outcome: 'ok', attempts: 1, bytesize: 31 });
  const stored = s.finalStateOf(job.id);
  t.match(stored, { state: 'success', checksum: fin.checksum, bytesize: 31, storedBytes: 31 });
  t.equal(stored?.checksum, stored?.storedChecksum, 'the checksum matches what GitLab holds');
  t.equal(s.jobs.get(job.id)?.status, 'success');
  t.same(patchRanges(s), ['202 0-13', '202 14-20', '202 21-30']);
  const put = s.requests.filter((r) => r.method === 'PUT').at(-1);
  t.equal(put?.headers['job-token'], job.token, 'JOB-TOKEN on job calls');
  t.same(s.jobs.get(job.id)?.updates.at(-1), {
    info: s.jobs.get(job.id)?.updates.at(-1)?.info,
    token: job.token,
    state: 'success',
    checksum: fin.checksum,
    output: { checksum: fin.checksum, bytesize: 31 },
  }, 'the final PUT body');
});

t.test('masked values and tokens never reach GitLab, even split across writes and patches', async (t) => {
  const secret = 'Sup3r-S3cret-Value';
  const { s, job, trace, round } = await setup(t, { spec: { variables: [{ key: 'DEPLOY_KEY', value: secret, masked: true }] } });
  const runnerToken = 'glrt-AbCdEf123456';
  trace.write(`key: ${secret.slice(0, 7)}`);
  await round();
  t.equal(s.traceOf(job.id), 'key: ', 'the possible start of a secret is held back');
  trace.write(`${secret.slice(7)} token ${runnerToken.slice(0, 3)}`);
  await round();
  trace.write(`${runnerToken.slice(3)} job ${job.token.slice(0, 9)}`);
  await round();
  trace.write(`${job.token.slice(9)}\n`);
  await trace.finish({ state: 'success' });
  const stored = s.traceOf(job.id);
  t.equal(stored, `key: ${MASK} token glrt-${MASK} job ${MASK}\n`);
  for (const leaked of [secret, runnerToken, job.token, secret.slice(0, 7), runnerToken.slice(5)]) t.notOk(stored.includes(leaked), `no ${leaked.slice(0, 4)}…`);
  t.equal(s.finalStateOf(job.id)?.checksum, checksumOf(Buffer.from(stored)));
});

t.test('a 416 resynchronises from the offset GitLab reports', async (t) => {
  const { s, job, trace, round } = await setup(t);
  trace.write('0123456789\n');
  await round();
  s.truncateTrace(job.id, 4);
  trace.write('abcdef\n');
  const r = await round();
  t.equal(r.patch.outcome, 'range_mismatch');
  t.equal(r.patch.sentOffset, 4, 'the server length from `Range: 0-4`');
  t.equal(trace.acknowledgedBytes, 4);
  await round();
  t.equal(s.traceOf(job.id), '0123456789\nabcdef\n', 'resent from byte 4');
  await trace.finish({ state: 'success' });
  t.same(patchRanges(s), ['202 0-10', '416 11-17', '202 4-17']);
  t.equal(s.finalStateOf(job.id)?.checksum, s.finalStateOf(job.id)?.storedChecksum);
});

t.test('output_limit caps the log with the notice; bytesize and checksum cover what was kept', async (t) => {
  const { s, job, trace } = await setup(t, { trace: { outputLimitBytes: 1024 } });
  for (let i = 0; i < 100; i++) trace.write(`line ${String(i).padStart(3, '0')} ${'x'.repeat(40)}\n`);
  const fin = await trace.finish({ state: 'failed', reason: 'script_failure', exitCode: 3 });
  const stored = s.traceOf(job.id);
  t.ok(stored.endsWith(limitNotice(1024)), 'ends with the notice');
  t.equal(Buffer.byteLength(stored), 1024 + Buffer.byteLength(limitNotice(1024)));
  t.match(s.finalStateOf(job.id), { state: 'failed', failureReason: 'script_failure', exitCode: 3, bytesize: fin.bytesize, checksum: checksumOf(Buffer.from(stored)) });
});

t.test('Job-Status canceling requests a graceful cancel; the final update ends the job as canceled', async (t) => {
  const { s, job, trace, round } = await setup(t);
  trace.write('working\n');
  await round();
  t.notOk(trace.cancelSignal.aborted);
  s.cancel(job.id);
  trace.write('still working\n');
  const r = await round();
  t.equal(r.patch.jobStatus, 'canceling');
  t.ok(trace.cancelSignal.aborted, 'cancel signal fired');
  t.notOk(trace.abortSignal.aborted, 'no abort: after_script may still run');
  t.match(trace.cancelSignal.reason, { code: 'aborted', message: /canceling/ });
  trace.write('after_script ran\n');
  const fin = await trace.finish({ state: 'failed', reason: 'job_canceled' });
  t.equal(fin.outcome, 'ok');
  t.equal(fin.failureReason, 'unknown_failure', 'job_canceled is not a reason GitLab lists');
  t.equal(s.jobs.get(job.id)?.status, 'canceled');
  t.match(s.traceOf(job.id), /after_script ran\n$/);
});

t.test('Job-Status canceled (forced) or 403 aborts the job and stops the loop', async (t) => {
  const { s, job, trace, round, clock } = await setup(t);
  trace.write('working\n');
  await round();
  s.cancel(job.id, { force: true });
  trace.write('more\n');
  const r = await round();
  t.equal(r.patch.outcome, 'abort');
  t.equal(r.patch.status, 403);
  t.equal(r.patch.jobStatus, 'canceled');
  t.ok(trace.abortSignal.aborted, 'abort signal fired');
  t.equal(clock.pendingTimers, 0, 'the loop stopped');
  const fin = await trace.finish({ state: 'failed', reason: 'job_canceled' });
  t.equal(fin.outcome, 'aborted', 'GitLab refuses the final update of a canceled job');
});

t.test('X-GitLab-Trace-Update-Interval sets the pace of the loop', async (t) => {
  const { s, trace, round, clock } = await setup(t);
  s.traceUpdateIntervalSeconds = 7;
  trace.write('a\n');
  await round(3_000);
  t.equal(trace.updateInterval, 7_000);
  trace.write('b\n');
  await clock.advance(6_999);
  t.equal(clock.pendingTimers, 1, 'the next round is not due after 6.999 s');
  const before = s.requests.length;
  await round(1);
  t.ok(s.requests.length > before, 'it runs at 7 s');
  s.traceUpdateIntervalSeconds = 100_000;
  trace.write('c\n');
  await round();
  t.equal(trace.updateInterval, 15 * 60 * 1000, 'capped at 15 minutes');
});

t.test('a keep-alive PUT goes out when nothing was sent for the force-send interval', async (t) => {
  const { s, job, round } = await setup(t);
  const puts = (): number => s.jobs.get(job.id)?.updates.filter((u) => u.state === 'running').length ?? 0;
  const acceptedPuts = puts();
  const r1 = await round();
  t.equal(r1.touch?.outcome, 'ok', 'first round: keep-alive');
  t.equal(puts(), acceptedPuts + 1);
  for (let i = 0; i < 10; i++) t.notOk((await round()).touch, `round ${i + 2}: not more than 30 s since the last, no keep-alive`);
  const r12 = await round();
  t.equal(r12.touch?.outcome, 'ok', 'more than 30 s: keep-alive');
  t.equal(puts(), acceptedPuts + 2);
  const body = s.jobs.get(job.id)?.updates.at(-1);
  t.match(body, { state: 'running', output: { checksum: 'crc32:00000000' } });
});

t.test('patches are at most 1 MiB and contiguous', async (t) => {
  const { s, job, trace } = await setup(t, { trace: { outputLimitBytes: 8 * 1024 * 1024 } });
  const block = 'y'.repeat(1023) + '\n';
  for (let i = 0; i < 2560; i++) trace.write(block);
  await trace.finish({ state: 'success' });
  t.same(patchRanges(s), ['202 0-1048575', '202 1048576-2097151', '202 2097152-2621439']);
  t.equal(s.traceOf(job.id).length, 2_621_440);
});

t.test('the final update waits and retries on 202 and 5xx, also while flushing the log', async (t) => {
  const { s, job, trace, clock } = await setup(t, { trace: { finalUpdateRetryLimit: 5 } });
  trace.write('done\n');
  s.failNext({ method: 'PUT', path: `/api/v4/jobs/${job.id}`, status: 202, headers: { 'X-GitLab-Trace-Update-Interval': '2' }, body: 202 });
  s.failNext({ method: 'PUT', path: `/api/v4/jobs/${job.id}`, status: 500, times: 5, body: { message: '500 Internal Server Error' } });
  s.failNext({ method: 'PATCH', path: `/api/v4/jobs/${job.id}/trace`, status: 502, times: 5 });
  const fin = await driving(clock, trace.finish({ state: 'success' }));
  t.match(fin, { outcome: 'ok', attempts: 4 }, 'a failed PATCH of the tail (502 after five HTTP attempts), 202, then 500 (after five HTTP attempts), then 200');
  t.equal(s.traceOf(job.id), 'done\n', 'the log got through after the 502s');
  t.equal(s.jobs.get(job.id)?.status, 'success');
});

t.test('the final update gives up after the retry limit', async (t) => {
  const { s, job, trace, clock } = await setup(t, { trace: { finalUpdateRetryLimit: 2 } });
  s.failNext({ method: 'PUT', path: `/api/v4/jobs/${job.id}`, status: 400, times: 10, body: { message: '400 Bad request' } });
  const fin = await driving(clock, trace.finish({ state: 'success' }));
  t.match(fin, { outcome: 'gave_up', attempts: 3 });
});

t.test('412 on the final update resends the log from 0 (GitLab answers 416 and the runner resyncs)', async (t) => {
  const { s, job, trace, clock } = await setup(t);
  trace.write('hello\n');
  s.failNext({ method: 'PUT', path: `/api/v4/jobs/${job.id}`, status: 412, body: { message: '412 Precondition Failed' } });
  const fin = await driving(clock, trace.finish({ state: 'success' }));
  t.match(fin, { outcome: 'ok', attempts: 2 });
  t.same(patchRanges(s), ['202 0-5', '416 0-5'], 'the resend from 0 met the stored log');
  t.equal(s.traceOf(job.id), 'hello\n');
  t.equal(s.finalStateOf(job.id)?.checksum, s.finalStateOf(job.id)?.storedChecksum);
});
