import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { JobInfo, JobOutcome } from '@fleetrunner/gitlab';
import { registerFleetingMetrics, type FleetSample } from './fleeting-metrics.js';
import { registerProcessMetrics } from './process-metrics.js';

/** Labels every per-runner series carries (GitLab Runner's `runner`, `runner_name`, `system_id`). */
export interface RunnerLabels {
  readonly runner: string;
  readonly runner_name: string;
  readonly system_id: string;
}

/** What `gitlab_runner_version_info` says about this build. */
export interface BuildInfo {
  version: string;
  revision: string;
  /** Default `HEAD` (upstream's when the build does not say). */
  branch?: string;
  /** Default '' (upstream's when the build does not say). */
  builtAt?: string;
}

/** What the scrape-time series read from the manager. */
export interface ScrapeSources {
  /** Every configured runner, with its adaptive request concurrency state. */
  runners(): Iterable<{ labels: RunnerLabels; adaptiveLimit: number; usedLimit: number }>;
  /** Running jobs. */
  builds(): Iterable<{ labels: RunnerLabels; state: string; stage: string; executorStage: string }>;
  /** Autoscalers started so far. */
  fleets(): Iterable<FleetSample>;
}

/** The job execution mode of every job here: no job runs steps (`run:` jobs fail before an instance is taken). */
const MODE = 'traditional';

/** Upstream's buckets (commands/builds_helper.go, network/api_requests_collector.go). */
const JOB_DURATION_BUCKETS = [30, 60, 300, 600, 1800, 3600, 7200, 10800, 18000, 36000];
const STAGE_DURATION_BUCKETS = [1, 3, 10, 30, 60, 120, 300, 900, 1800, 3600];
const QUEUE_DURATION_BUCKETS = [1, 3, 10, 30, 60, 120, 300, 900, 1800, 3600];
const API_DURATION_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

const RUNNER = ['runner', 'runner_name', 'system_id'] as const;
const RUNNER_SYSTEM = ['runner', 'system_id'] as const;
type R = (typeof RUNNER)[number];
type RS = (typeof RUNNER_SYSTEM)[number];

/** `failure_type` values of `gitlab_runner_worker_processing_failures_total`. */
export type ProcessingFailure = 'other' | 'no_free_executor' | 'job_failure';
const PROCESSING_FAILURES: readonly ProcessingFailure[] = ['other', 'no_free_executor', 'job_failure'];

/** `level` values of `gitlab_runner_errors_total` (the logrus levels upstream's log hook counts). */
const ERROR_LEVELS = ['panic', 'fatal', 'error', 'warning'] as const;

/** API paths of the runner client's endpoints under `/api/v4/`, numeric segments as `{id}` (upstream's `path`). */
const API_PATHS: Readonly<Record<string, string>> = {
  request_job: 'jobs/request',
  update_job: 'jobs/{id}',
  patch_trace: 'jobs/{id}/trace',
  upload_artifacts: 'jobs/{id}/artifacts',
  download_artifacts: 'jobs/{id}/artifacts',
  register: 'runners',
  verify: 'runners/verify',
  unregister: 'runners',
  unregister_manager: 'runners/managers',
  reset_token: 'runners/reset_authentication_token',
};

/** The request path of an endpoint of the client for `baseUrl` (its path prefix kept), as `…_api_request_retries_total{path}`. */
export function apiPath(baseUrl: string, endpoint: string): string {
  let prefix = '';
  try {
    prefix = new URL(baseUrl).pathname.replace(/\/+$/, '');
  } catch {
    // an unparsable URL never reaches a request
  }
  return `${prefix}/api/v4/${API_PATHS[endpoint] ?? endpoint}`;
}

function runnerSystem(l: RunnerLabels): Record<RS, string> {
  return { runner: l.runner, system_id: l.system_id };
}

function runner(l: RunnerLabels): Record<R, string> {
  return { runner: l.runner, runner_name: l.runner_name, system_id: l.system_id };
}

/** Node's names where Go's differ (upstream's `os` and `architecture` are GOOS/GOARCH). */
const GOARCH: Readonly<Record<string, string>> = { x64: 'amd64', ia32: '386', ppc64: 'ppc64le' };
const GOOS: Readonly<Record<string, string>> = { win32: 'windows', sunos: 'solaris' };

/**
 * The manager's `/metrics` (spec §5.1), on one prom-client `Registry` of its own (never the process-wide default):
 * the `gitlab_runner_*` series with upstream's names and label sets (packages/manager/README.md lists them and
 * where each was read), the fleeting series from the autoscalers' stats, and the process series. Events go
 * through the methods, which pick each family's labels from the runner's.
 */
export class ManagerMetrics {
  readonly registry = new Registry();
  /** `gitlab_runner_errors_total{level}`: the logger's warnings and errors. */
  readonly errors: Counter<'level'>;
  private readonly concurrent: Gauge;
  private readonly limit: Gauge<R>;
  private readonly jobsTotal: Counter<R>;
  private readonly jobExecutionMode: Counter<'mode' | 'executor'>;
  private readonly failedJobs: Counter<'runner' | 'runner_name' | 'failure_reason' | 'mode'>;
  private readonly jobDuration: Histogram<R | 'mode'>;
  private readonly jobStageDuration: Histogram<R | 'stage'>;
  private readonly jobQueueDuration: Histogram<R | 'project_jobs_running'>;
  private readonly jobQueueSize: Gauge<R>;
  private readonly jobQueueDepth: Gauge<R>;
  private readonly queuingExceeded: Counter<R>;
  private readonly requestConcurrency: Gauge<RS>;
  private readonly requestConcurrencyExceeded: Counter<RS>;
  private readonly requestConcurrencyHardLimit: Gauge<RS>;
  private readonly workerFeeds: Counter<R>;
  private readonly workerFeedFailures: Counter<R>;
  private readonly workerSlots: Gauge;
  private readonly workerSlotOperations: Counter<'operation'>;
  private readonly workerProcessingFailures: Counter<'failure_type' | R>;
  private readonly healthCheckFailures: Counter<R>;
  private readonly apiRequestStatuses: Counter<RS | 'endpoint' | 'status' | 'method'>;
  private readonly apiRequestDuration: Histogram<RS | 'endpoint' | 'status_class' | 'method'>;
  private readonly apiRequestRetries: Counter<'path' | 'method'>;
  private readonly configLoaded: Counter;
  private readonly configLoadingErrors: Counter;
  private sources: ScrapeSources | undefined;
  /** The autoscalers' stats of the scrape under way (read once per scrape by every fleeting family). */
  private fleetSamples: FleetSample[] = [];

  constructor(build: BuildInfo) {
    const registers = [this.registry];
    const counter = <T extends string>(name: string, help: string, labelNames: readonly T[] = []): Counter<T> => new Counter({ name, help, labelNames, registers });
    const gauge = <T extends string>(name: string, help: string, labelNames: readonly T[] = [], collect?: () => void): Gauge<T> =>
      new Gauge({ name, help, labelNames, registers, ...(collect ? { collect } : {}) });
    const histogram = <T extends string>(name: string, help: string, labelNames: readonly T[], buckets: number[]): Histogram<T> => new Histogram({ name, help, labelNames, buckets, registers });

    const info = {
      name: 'gitlab-runner',
      version: build.version,
      revision: build.revision,
      branch: build.branch ?? 'HEAD',
      go_version: `node${process.versions.node}`,
      built_at: build.builtAt ?? '',
      os: GOOS[process.platform] ?? process.platform,
      architecture: GOARCH[process.arch] ?? process.arch,
    };
    gauge('gitlab_runner_version_info', "A metric with a constant '1' value labeled by different build stats fields.", Object.keys(info)).set(info, 1);
    this.concurrent = gauge('gitlab_runner_concurrent', 'The current value of concurrent setting');
    this.limit = gauge('gitlab_runner_limit', 'The current value of limit setting', RUNNER);
    const jobs: Gauge<R | 'state' | 'stage' | 'executor_stage'> = gauge('gitlab_runner_jobs', 'The current number of running builds.', [...RUNNER, 'state', 'stage', 'executor_stage'], () => {
      jobs.reset();
      // An idle series per runner keeps the family present while nothing runs (upstream's).
      for (const r of this.sources?.runners() ?? []) jobs.set({ ...runner(r.labels), state: 'idle', stage: 'idle', executor_stage: 'idle' }, 0);
      for (const b of this.sources?.builds() ?? []) jobs.inc({ ...runner(b.labels), state: b.state, stage: b.stage, executor_stage: b.executorStage });
    });
    this.jobsTotal = counter('gitlab_runner_jobs_total', 'Total number of handled jobs', RUNNER);
    this.jobExecutionMode = counter('gitlab_runner_job_execution_mode_total', 'Total number of jobs grouped by execution mode and executor', ['mode', 'executor']);
    this.failedJobs = counter('gitlab_runner_failed_jobs_total', 'Total number of failed jobs', ['runner', 'runner_name', 'failure_reason', 'mode']);
    this.jobDuration = histogram('gitlab_runner_job_duration_seconds', 'Histogram of job durations', [...RUNNER, 'mode'], JOB_DURATION_BUCKETS);
    this.jobQueueDuration = histogram('gitlab_runner_job_queue_duration_seconds', 'A histogram representing job queue duration.', [...RUNNER, 'project_jobs_running'], QUEUE_DURATION_BUCKETS);
    this.jobQueueSize = gauge('gitlab_runner_job_queue_size', 'A gauge representing the size of the queue for the runner', RUNNER);
    this.jobQueueDepth = gauge('gitlab_runner_job_queue_depth', 'A gauge representing the search depth in the queue for the runner', RUNNER);
    this.queuingExceeded = counter('gitlab_runner_acceptable_job_queuing_duration_exceeded_total', 'Counts how often jobs exceed the configured queuing time threshold', RUNNER);
    this.jobStageDuration = histogram('gitlab_runner_job_stage_duration_seconds', 'Histogram of each job stage duration', [...RUNNER, 'stage'], STAGE_DURATION_BUCKETS);
    this.requestConcurrency = gauge('gitlab_runner_request_concurrency', 'The current number of concurrent requests for a new job', RUNNER_SYSTEM);
    this.requestConcurrencyExceeded = counter('gitlab_runner_request_concurrency_exceeded_total', 'Count of excess requests above the configured request_concurrency limit', RUNNER_SYSTEM);
    this.requestConcurrencyHardLimit = gauge('gitlab_runner_request_concurrency_hard_limit', 'Configured request_concurrency limit', RUNNER_SYSTEM);
    const limits = (name: string, help: string, read: (r: { adaptiveLimit: number; usedLimit: number }) => number): void => {
      const g: Gauge<RS> = gauge(name, help, RUNNER_SYSTEM, () => {
        g.reset();
        for (const r of this.sources?.runners() ?? []) g.set(runnerSystem(r.labels), read(r));
      });
    };
    limits('gitlab_runner_request_concurrency_adaptive_limit', 'Computed adaptive request concurrency limit', (r) => r.adaptiveLimit);
    limits('gitlab_runner_request_concurrency_used_limit', 'Used request concurrency limit', (r) => r.usedLimit);
    this.workerFeeds = counter('gitlab_runner_worker_feeds_total', 'Total number of times that runner worker is fed to the main loop', RUNNER);
    this.workerFeedFailures = counter('gitlab_runner_worker_feed_failures_total', 'Total number of times that runner worker feeding have failed', RUNNER);
    this.workerSlots = gauge('gitlab_runner_worker_slots_number', 'Current number of runner worker slots');
    this.workerSlotOperations = counter('gitlab_runner_worker_slot_operations_total', 'Total number of runner workers slot operations (starting and stopping slots)', ['operation']);
    for (const operation of ['started', 'stopped']) this.workerSlotOperations.inc({ operation }, 0);
    this.workerProcessingFailures = counter('gitlab_runner_worker_processing_failures_total', 'Total number of failures when processing runner worker', ['failure_type', ...RUNNER]);
    this.healthCheckFailures = counter('gitlab_runner_worker_health_check_failures_total', 'Total number of runner worker health check failures', RUNNER);
    this.apiRequestStatuses = counter('gitlab_runner_api_request_statuses_total', 'The total number of API requests made by GitLab Runner, partitioned by runner, system_id, endpoint, status and method.', [
      ...RUNNER_SYSTEM,
      'endpoint',
      'status',
      'method',
    ]);
    this.apiRequestDuration = histogram(
      'gitlab_runner_api_request_duration_seconds',
      'Latency histogram of API requests made by GitLab Runner, partitioned by runner, system_id, endpoint, status_class and method.',
      [...RUNNER_SYSTEM, 'endpoint', 'status_class', 'method'],
      API_DURATION_BUCKETS,
    );
    this.apiRequestRetries = counter('gitlab_runner_api_request_retries_total', 'The total number of attempts made by GitLab Runner in process of completing a request, partitioned by path and method.', ['path', 'method']);
    this.errors = counter('gitlab_runner_errors_total', 'The number of caught errors.', ['level']);
    for (const level of ERROR_LEVELS) this.errors.inc({ level }, 0);
    this.configLoaded = counter('gitlab_runner_configuration_loaded_total', 'Total number of times the configuration file was loaded by Runner process');
    this.configLoadingErrors = counter('gitlab_runner_configuration_loading_error_total', 'Total number of times the configuration file was not loaded by Runner process due to errors');
    // The manager never writes config.toml (register and verify do, in their own processes): both stay 0.
    counter('gitlab_runner_configuration_saved_total', 'Total number of times the configuration file was saved by Runner process');
    counter('gitlab_runner_configuration_saving_error_total', 'Total number of times the configuration file was not saved by Runner process due to errors');
    registerFleetingMetrics(this.registry, () => this.fleetSamples);
    registerProcessMetrics(this.registry);
  }

  /** Where the scrape-time series read from (the manager, once it runs). */
  attach(sources: ScrapeSources): void {
    this.sources = sources;
  }

  /** The exposition text (Prometheus 0.0.4). */
  async render(): Promise<string> {
    this.fleetSamples = [...(this.sources?.fleets() ?? [])];
    try {
      return await this.registry.metrics();
    } finally {
      this.fleetSamples = [];
    }
  }

  configLoad(ok: boolean): void {
    (ok ? this.configLoaded : this.configLoadingErrors).inc();
  }

  /** `concurrent` set (at start and on reload): slots started or stopped by the change. */
  setConcurrent(value: number, before: number): void {
    if (value !== before) this.workerSlotOperations.inc({ operation: value > before ? 'started' : 'stopped' }, Math.abs(value - before));
    this.concurrent.set(value);
    this.workerSlots.set(value);
  }

  /** A runner's entry (re)applied: its settings, and its per-runner series shown at 0 before the first event. */
  runnerConfigured(l: RunnerLabels, entry: { limit: number; requestConcurrency: number }): void {
    const r = runner(l);
    const rs = runnerSystem(l);
    this.limit.set(r, entry.limit);
    this.requestConcurrencyHardLimit.set(rs, entry.requestConcurrency);
    this.requestConcurrency.inc(rs, 0);
    this.requestConcurrencyExceeded.inc(rs, 0);
    for (const c of [this.jobsTotal, this.workerFeeds, this.workerFeedFailures, this.healthCheckFailures]) c.inc(r, 0);
    for (const failure_type of PROCESSING_FAILURES) this.workerProcessingFailures.inc({ failure_type, ...r }, 0);
  }

  workerFed(l: RunnerLabels, ok: boolean): void {
    (ok ? this.workerFeeds : this.workerFeedFailures).inc(runner(l));
  }

  processingFailure(l: RunnerLabels, failure_type: ProcessingFailure): void {
    this.workerProcessingFailures.inc({ failure_type, ...runner(l) });
  }

  healthCheckFailure(l: RunnerLabels): void {
    this.healthCheckFailures.inc(runner(l));
  }

  requestConcurrencyExceededBy(l: RunnerLabels): void {
    this.requestConcurrencyExceeded.inc(runnerSystem(l));
  }

  /** A job request starts (+1) or ends (-1). */
  requestInFlight(l: RunnerLabels, delta: 1 | -1): void {
    this.requestConcurrency.inc(runnerSystem(l), delta);
  }

  /** One attempt of an API request that is retried (the transport's `onRetry`). */
  apiRetry(path: string, method: string): void {
    this.apiRequestRetries.inc({ path, method: method.toLowerCase() });
  }

  /**
   * The answer an API request ended with (after its retries): its status, its latency and its last attempt (with
   * {@link apiRetry}, `…_retries_total` counts every attempt, as upstream's does).
   */
  apiResponse(l: RunnerLabels, path: string, e: { endpoint: string; method: string; status: number; durationMs: number }): void {
    const method = e.method.toLowerCase();
    const rs = runnerSystem(l);
    this.apiRequestStatuses.inc({ ...rs, endpoint: e.endpoint, status: String(e.status), method });
    this.apiRequestDuration.observe({ ...rs, endpoint: e.endpoint, status_class: statusClass(e.status), method }, e.durationMs / 1000);
    this.apiRequestRetries.inc({ path, method });
  }

  /** A job was accepted and starts (upstream's `addBuild`). */
  jobStarted(l: RunnerLabels, info: Pick<JobInfo, 'timeInQueueSeconds' | 'projectJobsRunningOnInstanceRunnersCount' | 'queueSize' | 'queueDepth'>, executor: string): void {
    const r = runner(l);
    this.jobsTotal.inc(r);
    this.jobQueueDuration.observe({ ...r, project_jobs_running: info.projectJobsRunningOnInstanceRunnersCount }, info.timeInQueueSeconds);
    this.jobQueueSize.set(r, info.queueSize);
    this.jobQueueDepth.set(r, info.queueDepth);
    // No `[runners.monitoring]` thresholds here (config validate says so): the counter stays 0, as upstream's without them.
    this.queuingExceeded.inc(r, 0);
    this.jobExecutionMode.inc({ mode: MODE, executor: executor || 'unknown' });
  }

  /** A job whose payload could not be read, failed at once (`runner_system_failure`). */
  malformedJob(l: RunnerLabels): void {
    this.jobsTotal.inc(runner(l));
    this.jobFinished(l, { state: 'failed', reason: 'runner_system_failure' }, undefined);
  }

  jobStageFinished(l: RunnerLabels, stage: string, seconds: number): void {
    this.jobStageDuration.observe({ ...runner(l), stage }, seconds);
  }

  /** A job ended (its duration is observed; a failure is counted with its reason). */
  jobFinished(l: RunnerLabels, outcome: JobOutcome, seconds: number | undefined): void {
    if (seconds !== undefined) this.jobDuration.observe({ ...runner(l), mode: MODE }, seconds);
    if (outcome.state !== 'failed') return;
    this.failedJobs.inc({ runner: l.runner, runner_name: l.runner_name, failure_reason: outcome.reason ?? 'script_failure', mode: MODE });
    this.processingFailure(l, 'job_failure');
  }
}

function statusClass(status: number): string {
  if (status >= 100 && status < 600) return `${Math.floor(status / 100)}xx`;
  return 'unknown';
}
