// `runner run` with request_concurrency = 4: every job request is charged its own answer (204, 201, 429 retried,
// 5xx) — the adaptive limit and the back-off never read another request's outcome.
import t from 'tap';
import { tmpDir, waitFor } from '@fleetrunner/testing';
import { startGitLabStandin } from '../src/index.js';
import { noInstancesLeft, startManager, writeRunConfig } from './run-harness.js';

t.test('request_concurrency = 4 with 204, 201, 429 and 5xx answers: each request is charged its own outcome', async (t) => {
  const dir = tmpDir(t, { prefix: 'run-reqconc' });
  // Held long polls end only when the queue changes: no request ends on its own during the test.
  const s = await startGitLabStandin({ traceUpdateIntervalSeconds: 1, longPollMs: 120_000 });
  t.teardown(() => s.close());
  const { token } = s.registerRunner();
  // The first job request gets 429 and is retried after 5 s; the other workers' requests start and end meanwhile.
  s.failNext({ method: 'POST', path: '/api/v4/jobs/request', status: 429, headers: { 'Retry-After': '5' }, body: { message: '429 Too Many Requests' } });
  const m = startManager(t, writeRunConfig({ dir, url: s.url, token, subnet: '127.88.3.0/28', runnerExtra: 'request_concurrency = 4' }));
  const adaptive = async (): Promise<number> => Number(/^gitlab_runner_request_concurrency_adaptive_limit\{[^}]*\} (\S+)$/m.exec(await m.metrics())?.[1] ?? 'NaN');

  // Adaptive limit: 4, ×0.95 per empty answer, ×0.5 for the retried request, ×1.1 per job. The retried request
  // halves it once it ends (5 s in); charged as an empty answer it would stay above 3.
  const charged = await waitFor(async () => {
    const v = await adaptive();
    return v <= 2.0001 ? v : undefined;
  }, { what: 'the retried request to be charged as retried (adaptive limit ≤ 2)', timeoutMs: 30_000 });
  const empties = Math.log(charged / 2) / Math.log(0.95);
  t.ok(charged > 1, `the limit is not at its floor (${charged}): no other request was charged as retried`);
  t.ok(Math.abs(empties - Math.round(empties)) < 1e-6, `limit ${charged} = 4 × 0.5 × 0.95^${Math.round(empties)}: one retried request, the rest empty answers`);
  t.equal(m.log.filter((e) => e.msg === 'checking for jobs failed: backing off').length, 0, 'a 429 the client retried into a 204 is no failure: no back-off');

  // A 5xx GitLab does not retry (501) for the next request, a job for another.
  s.failNext({ method: 'POST', path: '/api/v4/jobs/request', status: 501, body: { message: '501 Not Implemented' } });
  const id = s.enqueueJob({ variables: [{ key: 'GIT_STRATEGY', value: 'none', public: true }], script: ['echo hello'] }).id;
  await s.waitForJobState(id, ['success', 'failed']);
  t.equal(s.jobs.get(id)?.status, 'success', 'the job ran');
  await m.waitForLog((e) => e.msg === 'checking for jobs failed: backing off', 'the back-off after the 501', 30_000);
  const backoffs = m.log.filter((e) => e.msg === 'checking for jobs failed: backing off');
  t.same(backoffs.map((e) => e.status), [501], 'exactly one back-off, charged to the request that got the 501');
  m.child.kill('SIGQUIT');
  await m.exited;
  await noInstancesLeft(dir);
});
