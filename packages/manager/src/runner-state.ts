import { join } from 'node:path';
import { RunnerError, parseGoDuration, type Backoff, type Clock, type Logger } from '@fleetrunner/common';
import { isFeatureFlagOn, type RunnerEntry } from '@fleetrunner/config';
import { LowestFree } from '@fleetrunner/executor';
import { GitLabClient, loadRunnerTls, runnerInfo, runnerKey, shortToken, type ResponseEvent, type RetryEvent, type RunnerInfo, type RunnerTls } from '@fleetrunner/gitlab';

import { InflightJobs } from './inflight-jobs.js';
import { apiPath, type ManagerMetrics, type RunnerLabels } from './manager-metrics.js';
import { RequestLimit, RunnerHealth, requestBackoff } from './runner-health.js';

/** Environment variable: how long a GitLab API request may go without progress (a Go duration). */
export const GITLAB_TIMEOUT_ENV = 'FLEETRUNNER_GITLAB_RESPONSE_HEADER_TIMEOUT';

/**
 * The response timeout of GitLab API requests from {@link GITLAB_TIMEOUT_ENV}, ms; undefined (the client's
 * default, GitLab Runner's 10 minutes) when unset. Meant for tests of unanswered requests; it must stay above the
 * long-poll hold of `jobs/request` (50 s at GitLab). Throws `invalid_argument` for a value that is not a positive
 * duration.
 */
export function gitlabResponseTimeoutMs(env: Readonly<Record<string, string | undefined>> = process.env): number | undefined {
  const raw = env[GITLAB_TIMEOUT_ENV];
  if (raw === undefined || raw.trim() === '') return undefined;
  let ms: number;
  try {
    ms = parseGoDuration(raw.trim());
  } catch {
    ms = Number.NaN;
  }
  if (!(ms > 0)) throw new RunnerError('invalid_argument', `${GITLAB_TIMEOUT_ENV}: ${JSON.stringify(raw)} is not a positive duration (e.g. 10m, 30s)`);
  return ms;
}

/** What a runner's state needs from the manager. */
export interface RunnerContext {
  clock: Clock;
  logger: Logger;
  metrics: ManagerMetrics;
  systemId: string;
  /** Directory of config.toml (default state root). */
  configDir: string;
  version: { version: string; revision: string };
  /** Global `connection_max_age`, ms (≤ 0: unlimited). Default: the client's, 15 minutes. */
  connectionMaxAgeMs?: number;
}

/**
 * Everything the manager keeps for one `[[runners]]` entry: its GitLab client (instrumented for metrics), health,
 * request and job gates, CI_CONCURRENT_ID allocation and the record of running jobs. Matched across config reloads
 * by {@link runnerKey}; the entry itself is replaced on reload.
 */
export class RunnerState {
  readonly key: string;
  readonly health: RunnerHealth;
  readonly backoff: Backoff = requestBackoff();
  readonly requests: RequestLimit;
  readonly concurrentIds = new LowestFree();
  readonly projectIds = new Map<number, LowestFree>();
  readonly inflight: InflightJobs;
  readonly logger: Logger;
  /** Jobs running (and requests in flight) against `limit`. */
  builds = 0;
  client!: GitLabClient;
  info!: RunnerInfo;
  /** The runner's TLS files in effect (configured or found in `<config dir>/certs`) and their PEM texts. */
  tls: RunnerTls = { files: { discovered: [] } };
  private clientFor = '';

  constructor(
    public entry: RunnerEntry,
    private readonly ctx: RunnerContext,
  ) {
    this.key = runnerKey(entry);
    this.logger = ctx.logger.child({ runner: this.short, ...(entry.name ? { runner_name: entry.name } : {}) });
    this.health = new RunnerHealth(this.logger);
    this.requests = new RequestLimit(entry.requestConcurrency, isFeatureFlagOn('FF_USE_ADAPTIVE_REQUEST_CONCURRENCY', entry.featureFlags));
    const stateRoot = entry.autoscaler?.stateStorage.dir || join(ctx.configDir, '.taskscaler');
    this.inflight = new InflightJobs(join(stateRoot, this.short, 'jobs.json'), this.logger);
    this.update(entry);
  }

  get short(): string {
    return shortToken(this.entry.token);
  }

  get labels(): RunnerLabels {
    return { runner: this.short, runner_name: this.entry.name, system_id: this.ctx.systemId };
  }

  /** Applies a reloaded entry: gates and a new client when the URL or token changed. */
  update(entry: RunnerEntry): void {
    this.entry = entry;
    this.requests.setMax(entry.requestConcurrency, isFeatureFlagOn('FF_USE_ADAPTIVE_REQUEST_CONCURRENCY', entry.featureFlags));
    const m = this.ctx.metrics;
    m.runnerConfigured(this.labels, entry);
    const id = [entry.url, entry.token, entry.tlsCaFile, entry.tlsCertFile, entry.tlsKeyFile].join('\n');
    if (id === this.clientFor) return;
    this.clientFor = id;
    this.tls = this.loadTls(entry);
    this.info = runnerInfo({ version: this.ctx.version.version, revision: this.ctx.version.revision, shell: entry.shell, labels: entry.labels });
    this.client = new GitLabClient({
      url: entry.url,
      token: entry.token,
      systemId: this.ctx.systemId,
      info: this.info,
      clock: this.ctx.clock,
      logger: this.logger,
      ...timeoutOption(),
      ...(this.tls.ca || this.tls.cert ? { tls: { ...(this.tls.ca ? { ca: this.tls.ca } : {}), ...(this.tls.cert && this.tls.key ? { cert: this.tls.cert, key: this.tls.key } : {}) } } : {}),
      ...(this.ctx.connectionMaxAgeMs !== undefined ? { connectionMaxAgeMs: this.ctx.connectionMaxAgeMs } : {}),
      // Every attempt of a request (upstream's `…_retries_total{path}`), and the answer it ended with.
      onRetry: (e: RetryEvent) => m.apiRetry(apiPath(entry.url, e.endpoint), e.method),
      onResponse: (e: ResponseEvent) => m.apiResponse(this.labels, apiPath(entry.url, e.endpoint), e),
    });
  }

  /**
   * `tls-ca-file`, `tls-cert-file`, `tls-key-file`, or the files GitLab Runner looks for in `<config dir>/certs`
   * (`<host>.crt`, `<host>.auth.crt`, `<host>.auth.key`). A file that cannot be used is logged as an error naming the
   * key and the file; the runner then goes on without it (its requests fail with a certificate error naming the host).
   */
  private loadTls(entry: RunnerEntry): RunnerTls {
    try {
      const tls = loadRunnerTls({ url: entry.url, caFile: entry.tlsCaFile, certFile: entry.tlsCertFile, keyFile: entry.tlsKeyFile, certDir: join(this.ctx.configDir, 'certs') });
      if (tls.files.discovered.length > 0) this.logger.info('TLS files found in the certificate directory', { files: tls.files.discovered });
      return tls;
    } catch (err) {
      this.logger.error('TLS files of the runner cannot be used', { error: err instanceof Error ? err.message : String(err) });
      return { files: { discovered: [] } };
    }
  }

  /** Takes a `limit` slot (0 = unlimited); false when the runner is at its limit. */
  tryAcquireBuild(): boolean {
    if (this.entry.limit > 0 && this.builds >= this.entry.limit) return false;
    this.builds++;
    return true;
  }

  releaseBuild(): void {
    this.builds = Math.max(0, this.builds - 1);
  }

  /** CI_CONCURRENT_PROJECT_ID allocator of a project. */
  projectSlots(projectId: number): LowestFree {
    let ids = this.projectIds.get(projectId);
    if (!ids) this.projectIds.set(projectId, (ids = new LowestFree()));
    return ids;
  }
}

function timeoutOption(): { responseHeaderTimeoutMs?: number } {
  const ms = gitlabResponseTimeoutMs();
  return ms === undefined ? {} : { responseHeaderTimeoutMs: ms };
}
