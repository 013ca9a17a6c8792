// `runner run`: what the executor reports reaches the metrics as typed data — the stage of a running job comes from
// the executor's stage events (never from the job's own output), and the configured histogram buckets are the
// `le` values of the fleeting histograms.
import { writeFileSync } from 'node:fs';
import t from 'tap';
import { tmpDir, waitFor } from '@fleetrunner/testing';
import { startGitLabStandin } from '../src/index.js';
import { noInstancesLeft, startManager, writeRunConfig } from './run-harness.js';

/** The `stage` labels of the `gitlab_runner_jobs` samples in a /metrics text. */
function jobStages(metrics: string): string[] {
  return [...metrics.matchAll(/^gitlab_runner_jobs\{([^}]*)\} [1-9]/gm)].map((m) => /(?:^|,)stage="([^"]*)"/.exec(m[1]!)?.[1] ?? '');
}

t.test('the stage label of gitlab_runner_jobs comes from the executor, not from section markers the script prints', async (t) => {
  const dir = tmpDir(t, { prefix: 'run-stage' });
  const s = await startGitLabStandin({ traceUpdateIntervalSeconds: 1, longPollMs: 5_000 });
  t.teardown(() => s.close());
  const { token } = s.registerRunner();
  const m = startManager(t, writeRunConfig({ dir, url: s.url, token, subnet: '127.88.2.0/28' }));
  const go = `${dir}/go`;
  const id = s.enqueueJob({
    variables: [{ key: 'GIT_STRATEGY', value: 'none', public: true }],
    script: [`printf 'section_start:%s:fake_stage\\r\\033[0Kpretend\\n' "$(date +%s)"`, `while [ ! -e ${go} ]; do sleep 0.1; done`],
  }).id;
  await waitFor(() => /section_start:\d+:fake_stage/.test(s.traceOf(id)), { what: 'the fake section marker in the trace', timeoutMs: 60_000 });
  const stages = jobStages(await m.metrics());
  t.same(stages, ['step_script'], 'the job is in step_script, whatever its output says');
  writeFileSync(go, '');
  await s.waitForJobState(id, ['success', 'failed']);
  t.equal(s.jobs.get(id)?.status, 'success');
  m.child.kill('SIGQUIT');
  await m.exited;
  await noInstancesLeft(dir);
});

t.test('/metrics shows the configured instance_*_buckets as the le values of the fleeting histograms', async (t) => {
  const dir = tmpDir(t, { prefix: 'run-buckets' });
  const s = await startGitLabStandin({ traceUpdateIntervalSeconds: 1, longPollMs: 5_000 });
  t.teardown(() => s.close());
  const { token } = s.registerRunner();
  const file = writeRunConfig({
    dir,
    url: s.url,
    token,
    subnet: '127.88.2.16/28',
    autoscalerExtra: `instance_operation_time_buckets = [0.25, 3.5]
instance_creation_time_buckets = [1.5, 7]
instance_is_running_time_buckets = [2.5, 9]
instance_deletion_time_buckets = [4.5, 13]
instance_readiness_time_buckets = [5.5, 17]
instance_life_duration_buckets = [60, 600.5]`,
  });
  const m = startManager(t, file);
  const id = s.enqueueJob({ variables: [{ key: 'GIT_STRATEGY', value: 'none', public: true }], script: ['echo hello'] }).id;
  await s.waitForJobState(id, ['success', 'failed']);
  let text = '';
  await waitFor(async () => /fleeting_provisioner_instance_creation_time_seconds_bucket/.test((text = await m.metrics())), { what: 'the fleeting histograms', timeoutMs: 30_000 });
  const les = (name: string): string[] => [...text.matchAll(new RegExp(`^${name}_bucket\\{[^}]*le="([^"]+)"`, 'gm'))].map((x) => x[1]!);
  t.same(les('fleeting_provisioner_instance_creation_time_seconds'), ['1.5', '7', '+Inf']);
  t.same(les('fleeting_provisioner_instance_is_running_time_seconds'), ['2.5', '9', '+Inf']);
  t.same(les('fleeting_provisioner_instance_deletion_time_seconds'), ['4.5', '13', '+Inf']);
  t.same(les('fleeting_taskscaler_task_instance_readiness_time_seconds'), ['5.5', '17', '+Inf']);
  t.same(les('fleeting_provisioner_instance_life_duration_seconds'), ['60', '600.5', '+Inf']);
  m.child.kill('SIGQUIT');
  await m.exited;
  await noInstancesLeft(dir);
});
