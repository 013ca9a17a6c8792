import { randomBytes } from 'node:crypto';
import { RunnerError, hasCode, linkSignals, toRunnerError, type Clock, type Logger } from '@fleetrunner/common';
import { reserveSlot, type SlotTicket } from '@fleetrunner/executor';
import { JobPayloadError, JobTrace, errorLine, type JobPayload } from '@fleetrunner/gitlab';
import { runBuild, type RunningBuild } from './build.js';
import { fleetFactory, type FleetFactory, type FleetPool } from '@fleetrunner/executor';
import type { JobGuard } from './job-guard.js';
import type { ManagerMetrics } from './manager-metrics.js';
import type { RunnerState } from './runner-state.js';

/** A job request that gets no answer within this time fails like a transport error, ms. */
export const JOB_REQUEST_TIMEOUT_MS = 3 * 60_000;

/** What a worker needs from the manager. */
export interface PollContext {
  clock: Clock;
  logger: Logger;
  metrics: ManagerMetrics;
  fleets: FleetPool;
  /** Default: {@link fleetFactory}. */
  makeFleet?: (r: RunnerState) => FleetFactory;
  /** Plugins the binary embeds (for the default fleet factory). */
  builtinPlugins?: Readonly<Record<string, string>>;
  systemId: string;
  version: { version: string; revision: string };
  managerHostname: string;
  cacheRoot: string;
  /** Aborted when the manager stops taking jobs (drain or forced stop): cancels long polls. */
  pollSignal: AbortSignal;
  /** Forced shutdown. */
  interrupt: AbortSignal;
  /** End of the shutdown timeout. */
  finishSignal: AbortSignal;
  /** Hands the runner to another free worker at once (after a job came, unless strict_check_interval). */
  requeue(r: RunnerState): void;
  onBuildStart(b: RunningBuild): void;
  onBuildEnd(b: RunningBuild): void;
  /** Runs each job in its own scope, so an error escaping from it fails that job only. */
  guard: JobGuard;
}

/**
 * One worker pick (spec §3.1 step 2): `limit` slot → request slot (`request_concurrency`, adaptive) → the runner's
 * autoscaler (created on first use) → reserve capacity → long-poll `jobs/request`. No job: unreserve. A job: the
 * runner is re-queued (unless `strict_check_interval`) and the job runs in this worker.
 */
export async function processRunner(ctx: PollContext, r: RunnerState): Promise<void> {
  if (!r.tryAcquireBuild()) {
    r.logger.debug('runner limit met: not requesting a job');
    return;
  }
  try {
    const got = await reserveAndRequest(ctx, r);
    if (!got) return;
    if (!r.entry.strictCheckInterval) ctx.requeue(r);
    const job = got.job;
    await ctx.guard.run(job.id, (scope) => runBuild({
      runner: r,
      ticket: got.ticket,
      job,
      clock: ctx.clock,
      logger: r.logger,
      metrics: ctx.metrics,
      systemId: ctx.systemId,
      version: ctx.version,
      managerHostname: ctx.managerHostname,
      cacheRoot: ctx.cacheRoot,
      interrupt: ctx.interrupt,
      finishSignal: ctx.finishSignal,
      onStart: ctx.onBuildStart,
      onEnd: ctx.onBuildEnd,
      failSignal: scope.failSignal,
    }));
  } finally {
    r.releaseBuild();
  }
}

async function reserveAndRequest(ctx: PollContext, r: RunnerState): Promise<{ ticket: SlotTicket; job: JobPayload } | undefined> {
  const m = ctx.metrics;
  if (!r.requests.tryAcquire()) {
    m.requestConcurrencyExceededBy(r.labels);
    return undefined;
  }
  let ticket: SlotTicket | undefined;
  let job: JobPayload | undefined;
  try {
    const a = r.entry.autoscaler;
    if (!a) throw new RunnerError('invalid_argument', 'executor requires autoscaler config');
    const make = (ctx.makeFleet ?? ((x: RunnerState) => fleetFactory(x.short, ctx.builtinPlugins)))(r);
    const fleet = await ctx.fleets.get(r.key, (signal) => make(a, { logger: r.logger, signal }));
    try {
      ticket = reserveSlot(fleet, `${r.short}${randomBytes(4).toString('hex')}`);
    } catch (err) {
      if (!hasCode(err, 'no_capacity')) throw err;
      m.processingFailure(r.labels, 'no_free_executor');
      r.logger.debug('no free executor: no capacity to reserve', { kind: err.details['kind'] });
      return undefined;
    }
    job = await request(ctx, r);
    return job ? { ticket, job } : undefined;
  } catch (err) {
    if (!ctx.pollSignal.aborted) {
      m.processingFailure(r.labels, 'other');
      r.logger.error('failed to process runner', { error: toRunnerError(err).message });
    }
    return undefined;
  } finally {
    r.requests.release();
    if (!job) ticket?.release();
  }
}

/** `POST jobs/request` with health, back-off and adaptive-concurrency bookkeeping. */
async function request(ctx: PollContext, r: RunnerState): Promise<JobPayload | undefined> {
  const { clock, metrics: m } = ctx;
  const labels = r.labels;
  const timeout = new AbortController();
  const timer = clock.setTimeout(() => timeout.abort(new RunnerError('timeout', `job request got no answer within ${JOB_REQUEST_TIMEOUT_MS / 1000}s`)), JOB_REQUEST_TIMEOUT_MS);
  const link = linkSignals(ctx.pollSignal, timeout.signal);
  m.requestInFlight(labels, 1);
  try {
    // This request's own status and retries: with request_concurrency > 1 others are in flight at the same time.
    const { job, status, retries } = await r.client.requestJob({ signal: link.signal });
    r.health.mark(true, clock.now(), r.entry.unhealthyRequestsLimit, r.entry.unhealthyIntervalMs);
    if (status >= 500 || status === 429 || status === 408) {
      const delay = r.backoff.fail(clock.now());
      r.logger.warn('checking for jobs failed: backing off', { status, delayMs: delay });
    } else r.backoff.succeed();
    r.requests.observe(retries > 0 ? 'retried' : job ? 'job' : 'empty');
    if (job) r.logger.info('checking for jobs... received', { job: job.id });
    return job;
  } catch (err) {
    if (ctx.pollSignal.aborted) return undefined;
    if (err instanceof JobPayloadError) {
      r.health.mark(true, clock.now(), r.entry.unhealthyRequestsLimit, r.entry.unhealthyIntervalMs);
      await failMalformed(ctx, r, err);
      return undefined;
    }
    const e = toRunnerError(err);
    if (['auth_failed', 'timeout', 'unavailable', 'connection_refused'].includes(e.code)) {
      m.healthCheckFailure(labels);
      r.health.mark(false, clock.now(), r.entry.unhealthyRequestsLimit, r.entry.unhealthyIntervalMs, e.code === 'auth_failed' ? 'forbidden' : 'unreachable');
    }
    if (e.code !== 'auth_failed') {
      const delay = r.backoff.fail(clock.now());
      r.logger.warn('checking for jobs failed: backing off', { error: e.message, delayMs: delay });
    } else r.logger.error('checking for jobs... forbidden', { error: e.message });
    return undefined;
  } finally {
    timer.clear();
    link.dispose();
    m.requestInFlight(labels, -1);
  }
}

/**
 * A job whose payload this runner cannot read: accept it (GitLab's two-phase commit refuses a final state before
 * `running`), write the reason naming the bad field into its log and fail it with `runner_system_failure`. Like
 * any job it is recorded as in flight until GitLab has its final state, so a failed final update is retried by
 * the next start.
 */
async function failMalformed(ctx: PollContext, r: RunnerState, err: JobPayloadError): Promise<void> {
  r.logger.error('received a job with an invalid payload', { field: err.field, job: err.job?.id, error: err.message });
  const job = err.job;
  if (!job) return;
  await r.inflight.add({ id: job.id, token: job.token, url: r.entry.url, startedAt: ctx.clock.now() });
  let reported = false;
  try {
    const ack = await r.client.updateJob(job, { state: 'running' }, { signal: ctx.finishSignal });
    if (ack.outcome === 'abort') {
      reported = true;
      return;
    }
    const trace = new JobTrace({ api: r.client, job, clock: ctx.clock, logger: r.logger, finalUpdateRetryLimit: r.entry.jobStatusFinalUpdateRetryLimit });
    trace.write(`Running with gitlab-runner ${ctx.version.version} (fleetrunner)\n`);
    trace.write(errorLine(`Job failed (system failure): ${err.message}`));
    const final = await trace.finish({ state: 'failed', reason: 'runner_system_failure' }, { signal: ctx.finishSignal }).catch(() => undefined);
    reported = final?.outcome === 'ok' || final?.outcome === 'aborted';
    ctx.metrics.malformedJob(r.labels);
  } finally {
    if (reported) await r.inflight.remove(job.id);
    else r.logger.error('the job stays recorded as in flight: GitLab may still have it as running; the next start of the manager fails it', { job: job.id, file: r.inflight.file });
  }
}
