import t from 'tap';
import { tmpDir, waitFor } from '@fleetrunner/testing';
import { startGitLabStandin } from '../src/index.js';
import { alive, noInstancesLeft, startManager, writeRunConfig } from './run-harness.js';

/** A job that starts a long background process, reports its pid and keeps logging until it is stopped. */
const LONG_JOB = ['sleep 300 & echo "bg pid $!"', 'while true; do echo tick; sleep 0.2; done'];

t.test('a cancel from the server stops the job and kills its remote processes', async (t) => {
  const dir = tmpDir(t, { prefix: 'run-cancel' });
  const s = await startGitLabStandin({ traceUpdateIntervalSeconds: 1, longPollMs: 5_000 });
  t.teardown(() => s.close());
  const { token } = s.registerRunner();
  const m = startManager(t, writeRunConfig({ dir, url: s.url, token, subnet: '127.81.2.0/24' }));
  const pidOf = async (id: number): Promise<number> => {
    await s.waitForTrace(id, (tr) => /^(?:\S+ [0-9a-f]{2}[OE][ +])?bg pid \d+$/m.test(tr) && /^(?:\S+ [0-9a-f]{2}[OE][ +])?tick$/m.test(tr));
    return Number(/^(?:\S+ [0-9a-f]{2}[OE][ +])?bg pid (\d+)$/m.exec(s.traceOf(id))![1]);
  };

  await t.test('graceful cancel (canceling): the script is stopped, after_script runs, the job ends canceled', async (t) => {
    const job = s.enqueueJob({
      variables: [{ key: 'GIT_STRATEGY', value: 'none', public: true }],
      steps: [
        { name: 'script', script: LONG_JOB, timeout: 3600, when: 'on_success', allow_failure: false },
        { name: 'after_script', script: ['echo "after_script sees $CI_JOB_STATUS"'], timeout: 60, when: 'always', allow_failure: false },
      ],
    });
    const pid = await pidOf(job.id);
    t.ok(alive(pid), 'the background process runs on the instance');
    s.cancel(job.id);
    await s.waitForJobState(job.id, 'canceled');
    await waitFor(() => !alive(pid), { what: `remote pid ${pid} to die`, timeoutMs: 15_000 });
    t.match(s.traceOf(job.id), /^(?:\S+ [0-9a-f]{2}[OE][ +])?after_script sees canceled$/m, 'after_script ran with CI_JOB_STATUS=canceled');
    t.equal(s.finalStateOf(job.id)?.state, 'failed', 'the final update says failed; GitLab keeps the job canceled');
  });

  await t.test('forced cancel (canceled): everything stops at once', async (t) => {
    const job = s.enqueueJob({
      variables: [{ key: 'GIT_STRATEGY', value: 'none', public: true }],
      steps: [
        { name: 'script', script: LONG_JOB, timeout: 3600, when: 'on_success', allow_failure: false },
        { name: 'after_script', script: ['echo after-script-ran'], timeout: 60, when: 'always', allow_failure: false },
      ],
    });
    const pid = await pidOf(job.id);
    s.cancel(job.id, { force: true });
    await waitFor(() => !alive(pid), { what: `remote pid ${pid} to die`, timeoutMs: 15_000 });
    await m.waitForLog((e) => e.msg === 'job finished' && e.job === job.id, `job ${job.id} to finish`);
    t.equal(s.jobs.get(job.id)?.status, 'canceled');
    t.notMatch(s.traceOf(job.id), /^(?:\S+ [0-9a-f]{2}[OE][ +])?after-script-ran$/m, 'no after_script after a forced cancel');
  });

  await t.test('the manager keeps serving', async (t) => {
    const job = s.enqueueJob({ variables: [{ key: 'GIT_STRATEGY', value: 'none', public: true }], script: ['echo still here'] });
    await s.waitForJobState(job.id, ['success', 'failed']);
    t.equal(s.jobs.get(job.id)?.status, 'success');
  });

  m.child.kill('SIGQUIT');
  t.same(await m.exited, { code: 0, signal: null });
  await noInstancesLeft(dir);
});
