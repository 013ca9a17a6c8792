import t from 'tap';
import { DEFAULT_BUCKETS, type HistogramSnapshot, type TaskscalerStats } from '@fleetrunner/taskscaler';
import { provisionerStates } from '../src/fleeting-metrics.js';
import { ManagerMetrics, apiPath, type RunnerLabels } from '../src/manager-metrics.js';

function snapshot(bounds: readonly number[], observed: number[]): HistogramSnapshot {
  const buckets = [...bounds, Infinity].map((le) => ({ le, count: observed.filter((v) => v <= le).length }));
  return { buckets, count: observed.length, sum: observed.reduce((a, b) => a + b, 0) };
}

function stats(creationBounds: readonly number[], instances: Partial<TaskscalerStats['instances']> = {}): TaskscalerStats {
  const none = snapshot(DEFAULT_BUCKETS, []);
  return {
    instances: { requested: 0, creating: 0, readying: 0, ready: 0, draining: 0, unhealthy: 0, removing: 0, deleting: 0, ...instances },
    slots: { idle: 3, reserved: 1, pending: 0, acquired: 2, unavailable: 0, unhealthy: 0 },
    desiredInstances: 2,
    maxInstances: 4,
    capacityPerInstance: 3,
    maxUseCount: 0,
    policy: { index: -1, idleCount: 0, idleTimeMs: 0, scaleFactor: 0, scaleFactorLimit: 0, preemptiveMode: false },
    counters: {
      increaseCalls: 1,
      instancesRequested: 2,
      instancesRequestFailed: 0,
      instancesRemoved: 0,
      decreaseCalls: 0,
      decreaseRefused: 0,
      updates: 5,
      missedUpdates: 0,
      reserves: 3,
      reserveFailedAvailable: 1,
      reserveFailedPotential: 0,
      acquires: 2,
      acquireTimeouts: 0,
      releases: 0,
      readyFailures: 0,
      healthFailures: 0,
      unexpectedRemovals: 0,
      requestsExpired: 0,
    },
    histograms: { creationSeconds: snapshot(creationBounds, [0.5, 2, 40]), isRunningSeconds: none, readinessSeconds: none, deletionSeconds: none, lifeSeconds: none },
    lastDecision: undefined,
  };
}

const lines = (text: string, name: string): string[] => text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));

t.test('one registry per manager, upstream label sets, every per-runner series at 0 from the start', async (t) => {
  const a = new ManagerMetrics({ version: '1.2.3', revision: 'abcdef12' });
  const b = new ManagerMetrics({ version: '1.2.3', revision: 'abcdef12' });
  const r: RunnerLabels = { runner: 'abcdefghi', runner_name: 'say "hi"\\', system_id: 's_0123456789ab' };
  a.runnerConfigured(r, { limit: 3, requestConcurrency: 2 });
  a.apiResponse(r, apiPath('https://gitlab.example/sub/', 'patch_trace'), { endpoint: 'patch_trace', method: 'PATCH', status: 202, durationMs: 120 });
  a.apiRetry(apiPath('https://gitlab.example/sub/', 'patch_trace'), 'PATCH');
  a.jobStarted(r, { timeInQueueSeconds: 4, projectJobsRunningOnInstanceRunnersCount: '1', queueSize: 7, queueDepth: 2 }, 'instance');
  a.jobFinished(r, { state: 'failed', reason: 'script_failure' }, 12);
  const text = await a.render();
  t.notOk(/gitlab_runner_limit\{/.test(await b.render()), 'the other manager’s registry has none of it');
  const name = 'runner="abcdefghi",runner_name="say \\"hi\\"\\\\",system_id="s_0123456789ab"';
  t.same(lines(text, 'gitlab_runner_limit'), [`gitlab_runner_limit{${name}} 3`], 'label values escaped');
  t.same(lines(text, 'gitlab_runner_request_concurrency_hard_limit'), ['gitlab_runner_request_concurrency_hard_limit{runner="abcdefghi",system_id="s_0123456789ab"} 2']);
  t.same(lines(text, 'gitlab_runner_worker_processing_failures_total'), [
    `gitlab_runner_worker_processing_failures_total{failure_type="other",${name}} 0`,
    `gitlab_runner_worker_processing_failures_total{failure_type="no_free_executor",${name}} 0`,
    `gitlab_runner_worker_processing_failures_total{failure_type="job_failure",${name}} 1`,
  ]);
  t.same(lines(text, 'gitlab_runner_api_request_statuses_total'), ['gitlab_runner_api_request_statuses_total{runner="abcdefghi",system_id="s_0123456789ab",endpoint="patch_trace",status="202",method="patch"} 1']);
  t.same(lines(text, 'gitlab_runner_api_request_retries_total'), ['gitlab_runner_api_request_retries_total{path="/sub/api/v4/jobs/{id}/trace",method="patch"} 2'], 'every attempt, by path');
  t.match(text, /^gitlab_runner_api_request_duration_seconds_bucket\{le="0.25",runner="abcdefghi",system_id="s_0123456789ab",endpoint="patch_trace",status_class="2xx",method="patch"\} 1$/m);
  t.same(lines(text, 'gitlab_runner_failed_jobs_total'), ['gitlab_runner_failed_jobs_total{runner="abcdefghi",runner_name="say \\"hi\\"\\\\",failure_reason="script_failure",mode="traditional"} 1']);
  t.ok(lines(text, 'gitlab_runner_job_duration_seconds_bucket').includes(`gitlab_runner_job_duration_seconds_bucket{le="30",${name},mode="traditional"} 1`));
  t.match(text, /^gitlab_runner_job_queue_duration_seconds_count\{[^}]*,project_jobs_running="1"\} 1$/m);
  t.same(lines(text, 'gitlab_runner_job_queue_size'), [`gitlab_runner_job_queue_size{${name}} 7`]);
  t.same(lines(text, 'gitlab_runner_job_execution_mode_total'), ['gitlab_runner_job_execution_mode_total{mode="traditional",executor="instance"} 1']);
  t.same(
    lines(text, 'gitlab_runner_errors_total').map((l) => l.replace(/ \d+$/, '')),
    ['panic', 'fatal', 'error', 'warning'].map((l) => `gitlab_runner_errors_total{level="${l}"}`),
  );
  const info = lines(text, 'gitlab_runner_version_info')[0]!;
  t.match(info, /^gitlab_runner_version_info\{name="gitlab-runner",version="1\.2\.3",revision="abcdef12",branch="HEAD",go_version="node[\d.]+",built_at="",os="\w+",architecture="\w+"\} 1$/);
  t.match(text, /^process_resident_memory_bytes \d+/m);
  t.match(text, /^nodejs_array_buffers_bytes \d+/m);
});

t.test('fleeting series: per-autoscaler buckets as le values, provisioner states as upstream panels select them', async (t) => {
  const m = new ManagerMetrics({ version: '1', revision: 'x' });
  const r1: RunnerLabels = { runner: 'one', runner_name: 'a', system_id: 's' };
  const r2: RunnerLabels = { runner: 'two', runner_name: 'b', system_id: 's' };
  m.attach({
    runners: () => [r1, r2].map((labels) => ({ labels, adaptiveLimit: 1.5, usedLimit: 1 })),
    builds: () => [{ labels: r1, state: 'running', stage: 'step_script', executorStage: 'step_script' }],
    fleets: () => [
      { labels: r1, stats: stats([1.5, 7], { ready: 1, readying: 1, removing: 1, requested: 2 }) },
      { labels: r2, stats: stats([60]) },
    ],
  });
  const text = await m.render();
  const les = (runner: string): string[] => [...text.matchAll(new RegExp(`^fleeting_provisioner_instance_creation_time_seconds_bucket\\{runner="${runner}",[^}]*le="([^"]+)"\\} (\\d+)$`, 'gm'))].map((x) => `${x[1]}:${x[2]}`);
  t.same(les('one'), ['1.5:1', '7:2', '+Inf:3']);
  t.same(les('two'), ['60:3', '+Inf:3']);
  t.match(text, /^fleeting_provisioner_instance_creation_time_seconds_sum\{runner="one",runner_name="a",system_id="s"\} 42.5$/m);
  t.match(text, /^fleeting_provisioner_instance_creation_time_seconds_count\{runner="one",runner_name="a",system_id="s"\} 3$/m);
  t.same(
    lines(text, 'fleeting_provisioner_instances').filter((l) => l.includes('runner="one"')),
    ['requested 2', 'creating 0', 'running 2', 'deleting 1'].map((x) => `fleeting_provisioner_instances{runner="one",runner_name="a",system_id="s",state="${x.split(' ')[0]}"} ${x.split(' ')[1]}`),
  );
  t.match(text, /^fleeting_taskscaler_task_operations_total\{runner="two",runner_name="b",system_id="s",operation="reserve_available_capacity_failure"\} 1$/m);
  t.match(text, /^fleeting_taskscaler_tasks\{runner="one",runner_name="a",system_id="s",state="acquired"\} 2$/m);
  t.same(lines(text, 'gitlab_runner_request_concurrency_adaptive_limit'), ['one', 'two'].map((x) => `gitlab_runner_request_concurrency_adaptive_limit{runner="${x}",system_id="s"} 1.5`));
  t.same(lines(text, 'gitlab_runner_jobs'), [
    'gitlab_runner_jobs{runner="one",runner_name="a",system_id="s",state="idle",stage="idle",executor_stage="idle"} 0',
    'gitlab_runner_jobs{runner="two",runner_name="b",system_id="s",state="idle",stage="idle",executor_stage="idle"} 0',
    'gitlab_runner_jobs{runner="one",runner_name="a",system_id="s",state="running",stage="step_script",executor_stage="step_script"} 1',
  ]);
  // A second scrape shows the same series (the scrape-time families are rebuilt, not added to).
  t.equal(lines(await m.render(), 'fleeting_provisioner_instances').length, 8);
  t.same(provisionerStates(stats([1]).instances), { requested: 0, creating: 0, running: 0, deleting: 0 });
});
