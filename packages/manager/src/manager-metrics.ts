import { Registry, type Counter, type Gauge, type Histogram, type Labels } from './metrics-registry.js';

/** Labels every per-runner series carries (GitLab Runner's `runner`, `runner_name`, `system_id`). */
export interface RunnerLabels extends Labels {
  runner: string;
  runner_name: string;
  system_id: string;
}

/** Job duration buckets in seconds (GitLab Runner's). */
const JOB_DURATION_BUCKETS = [30, 60, 300, 600, 1800, 3600, 7200, 10800, 18000, 36000];
const STAGE_DURATION_BUCKETS = [1, 5, 10, 30, 60, 300, 600, 1800, 3600];
const QUEUE_DURATION_BUCKETS = [1, 3, 10, 30, 60, 120, 300, 900, 1800, 3600];
const API_DURATION_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** The manager's own `gitlab_runner_*` series (spec §5.1). The fleeting ones are collected from the taskscalers. */
export class ManagerMetrics {
  readonly registry = new Registry();
  readonly versionInfo: Gauge;
  readonly concurrent: Gauge;
  readonly limit: Gauge;
  readonly jobsTotal: Counter;
  readonly failedJobsTotal: Counter;
  readonly jobDuration: Histogram;
  readonly jobStageDuration: Histogram;
  readonly jobQueueDuration: Histogram;
  readonly requestConcurrency: Gauge;
  readonly requestConcurrencyExceeded: Counter;
  readonly requestConcurrencyHardLimit: Gauge;
  readonly requestConcurrencyAdaptiveLimit: Gauge;
  readonly requestConcurrencyUsedLimit: Gauge;
  readonly workerFeeds: Counter;
  readonly workerFeedFailures: Counter;
  readonly workerSlots: Gauge;
  readonly workerSlotOperations: Counter;
  readonly workerProcessingFailures: Counter;
  readonly healthCheckFailures: Counter;
  readonly apiRequestStatuses: Counter;
  readonly apiRequestDuration: Histogram;
  readonly apiRequestRetries: Counter;
  readonly errors: Counter;
  readonly configLoaded: Counter;
  readonly configLoadingErrors: Counter;
  readonly configSaved: Counter;
  readonly configSavingErrors: Counter;

  constructor(version: { version: string; revision: string }) {
    const r = this.registry;
    this.versionInfo = r.gauge('gitlab_runner_version_info', 'A metric with a constant 1 value labeled by different build stats fields.');
    this.versionInfo.set({ name: 'fleetrunner', version: version.version, revision: version.revision, os: process.platform, architecture: process.arch, go_version: `node ${process.version}` }, 1);
    this.concurrent = r.gauge('gitlab_runner_concurrent', 'The current value of concurrent setting');
    this.limit = r.gauge('gitlab_runner_limit', 'The current value of limit setting');
    this.jobsTotal = r.counter('gitlab_runner_jobs_total', 'Total number of handled jobs');
    this.failedJobsTotal = r.counter('gitlab_runner_failed_jobs_total', 'Total number of failed jobs');
    this.jobDuration = r.histogram('gitlab_runner_job_duration_seconds', 'Histogram of job durations', JOB_DURATION_BUCKETS);
    this.jobStageDuration = r.histogram('gitlab_runner_job_stage_duration_seconds', 'Histogram of job stage durations', STAGE_DURATION_BUCKETS);
    this.jobQueueDuration = r.histogram('gitlab_runner_job_queue_duration_seconds', 'How long the job waited in the queue before a runner took it', QUEUE_DURATION_BUCKETS);
    this.requestConcurrency = r.gauge('gitlab_runner_request_concurrency', 'The current number of concurrent requests for a new job');
    this.requestConcurrencyExceeded = r.counter('gitlab_runner_request_concurrency_exceeded_total', 'Count of excess requests above the configured request_concurrency limit');
    this.requestConcurrencyHardLimit = r.gauge('gitlab_runner_request_concurrency_hard_limit', 'The configured request_concurrency');
    this.requestConcurrencyAdaptiveLimit = r.gauge('gitlab_runner_request_concurrency_adaptive_limit', 'The adaptive request concurrency limit (before rounding)');
    this.requestConcurrencyUsedLimit = r.gauge('gitlab_runner_request_concurrency_used_limit', 'The request concurrency limit in effect');
    this.workerFeeds = r.counter('gitlab_runner_worker_feeds_total', 'Total number of times a runner was fed to a worker');
    this.workerFeedFailures = r.counter('gitlab_runner_worker_feed_failures_total', 'Total number of times a runner could not be fed (unhealthy or no worker)');
    this.workerSlots = r.gauge('gitlab_runner_worker_slots_number', 'The current number of worker slots');
    this.workerSlotOperations = r.counter('gitlab_runner_worker_slot_operations_total', 'Worker slots added and removed');
    this.workerProcessingFailures = r.counter('gitlab_runner_worker_processing_failures_total', 'Total number of failures when processing a runner');
    this.healthCheckFailures = r.counter('gitlab_runner_worker_health_check_failures_total', 'Total number of runner health check failures');
    this.apiRequestStatuses = r.counter('gitlab_runner_api_request_statuses_total', 'The total number of API requests by endpoint, status and method');
    this.apiRequestDuration = r.histogram('gitlab_runner_api_request_duration_seconds', 'Latency of API requests by endpoint', API_DURATION_BUCKETS);
    this.apiRequestRetries = r.counter('gitlab_runner_api_request_retries_total', 'The total number of retried API requests');
    this.errors = r.counter('gitlab_runner_errors_total', 'The number of caught errors.');
    for (const level of ['warning', 'error']) this.errors.touch({ level });
    this.configLoaded = r.counter('gitlab_runner_configuration_loaded_total', 'Total number of times the configuration file was loaded');
    this.configLoadingErrors = r.counter('gitlab_runner_configuration_loading_error_total', 'Total number of times the configuration file failed to load');
    this.configSaved = r.counter('gitlab_runner_configuration_saved_total', 'Total number of times the configuration file was saved');
    this.configSavingErrors = r.counter('gitlab_runner_configuration_saving_error_total', 'Total number of times saving the configuration file failed');
    for (const c of [this.configLoaded, this.configLoadingErrors, this.configSaved, this.configSavingErrors]) c.touch();
  }
}
