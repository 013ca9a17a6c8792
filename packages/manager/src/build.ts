import { Backoff, RunnerError, linkSignals, toRunnerError, type Clock, type Logger } from '@fleetrunner/common';
import { LocalArchiveStore, projectCacheDir, runFleetJob, type JobResult, type SlotTicket } from '@fleetrunner/executor';
import { JobTrace, MAX_UPDATE_INTERVAL_MS, errorLine, type FinalUpdateResult, type JobOutcome, type JobPayload, type LogStream, type UpdateJobResult } from '@fleetrunner/gitlab';
import { traceFlags } from './executor-settings.js';
import { GitLabArtifactBackend } from './gitlab-artifacts.js';
import type { ManagerMetrics } from './manager-metrics.js';
import type { RunnerState } from './runner-state.js';

/** A job being run, as `/debug/jobs/list` and `gitlab_runner_jobs` show it. */
export interface RunningBuild {
  readonly id: number;
  readonly runner: RunnerState;
  readonly startedAt: number;
  /** The job's page: `<url>/<project>/-/jobs/<id>`. */
  readonly url: string;
  state: 'preparing' | 'running' | 'finishing';
  /** The stage being run (`step_script`, …), from the executor's stage events. */
  stage: string;
}

/** Everything one job needs from the manager. */
export interface BuildOptions {
  runner: RunnerState;
  /** The slot reserved before the request; released when the build ends. */
  ticket: SlotTicket;
  job: JobPayload;
  clock: Clock;
  logger: Logger;
  metrics: ManagerMetrics;
  systemId: string;
  version: { version: string; revision: string };
  managerHostname: string;
  /** Root of the manager-side cache archives. */
  cacheRoot: string;
  /** Forced shutdown: aborts the job, which then fails with `runner_interrupted`. */
  interrupt: AbortSignal;
  /** Bounds the final update (end of the shutdown timeout). */
  finishSignal: AbortSignal;
  /** Called once the job is accepted (the record shows in `/debug/jobs/list`). */
  onStart?(build: RunningBuild): void;
  onEnd?(build: RunningBuild): void;
  /** Fires when the manager fails this job (an error escaped from its code): it stops as a system failure. */
  failSignal?: AbortSignal;
}

/**
 * Runs one job GitLab handed out, from the two-phase commit to the final update (spec §3.1 step 4, §3.2): record it
 * as in flight, `PUT state=running` (drop the job when GitLab refuses it; go on, as GitLab Runner does, when the
 * answer was lost or a 5xx), stream the trace, prepare an instance (acquire + dial, 3 attempts), run the executor
 * with GitLab's cancel/abort signals, the lost-instance signal and the manager's interrupt, release the instance,
 * then send the final state. The in-flight record is removed only once GitLab has the job's final state (or
 * refused the job); otherwise it stays, and the next start of the manager fails the job. Never throws.
 */
export async function runBuild(o: BuildOptions): Promise<void> {
  const { runner, job } = o;
  const log = o.logger.child({ job: job.id });
  const url = `${runner.entry.url.replace(/\/+$/, '')}/${job.jobInfo.projectFullPath}/-/jobs/${job.id}`;
  const record: RunningBuild = { id: job.id, runner, startedAt: o.clock.now(), url, state: 'preparing', stage: '' };
  await runner.inflight.add({ id: job.id, token: job.token, url: runner.entry.url, startedAt: record.startedAt });
  /** GitLab has the job's final state, or refused the job: nothing is left to report. */
  let reported = false;
  try {
    const ack = await accept(o, log);
    if (!ack || ack.outcome === 'abort') {
      log.warn('job dropped: GitLab did not confirm it', { outcome: ack?.outcome, status: ack?.status, jobStatus: ack?.jobStatus });
      reported = true;
      return;
    }
    if (ack.outcome !== 'ok') {
      // GitLab may have stored `running` and lost the answers: dropping the job would leave it running there.
      log.warn('accepting the job got no confirmation; running it anyway', { outcome: ack.outcome, status: ack.status, ...(ack.transportError ? { error: ack.transportError.message } : {}) });
    }
    o.onStart?.(record);
    o.metrics.jobStarted(runner.labels, job.jobInfo, runner.entry.executor);
    try {
      const final = await traced(o, record, log, ack.cancelRequested, ack.updateIntervalMs);
      reported = final === 'ok' || final === 'aborted';
    } finally {
      o.onEnd?.(record);
    }
  } catch (err) {
    log.error('running the job failed', { error: toRunnerError(err).message });
  } finally {
    o.ticket.release();
    if (reported) await runner.inflight.remove(job.id);
    else log.error('the job stays recorded as in flight: GitLab may still have it as running; the next start of the manager fails it', { file: runner.inflight.file });
  }
}

/** Attempts of the acceptance `PUT state=running` that get no answer or a 5xx (it is idempotent: resent at once safely). */
const ACCEPT_ATTEMPTS = 4;

/**
 * GitLab's two-phase commit: `PUT state=running`, resent after 1 s, 2 s, 4 s (the project's back-off) while it gets
 * no answer or a 5xx — a lost acknowledgement would otherwise leave the job unconfirmed at GitLab, which refuses its
 * final state then. Undefined when the call was interrupted.
 */
async function accept(o: BuildOptions, log: Logger): Promise<UpdateJobResult | undefined> {
  const backoff = new Backoff(1_000, 4_000);
  for (let attempt = 1; ; attempt++) {
    const ack = await o.runner.client.updateJob(o.job, { state: 'running' }, { signal: o.interrupt }).catch((err: unknown) => {
      log.warn('accepting the job failed', { error: toRunnerError(err).message });
      return undefined;
    });
    if (!ack || ack.outcome !== 'failed' || attempt >= ACCEPT_ATTEMPTS) return ack;
    const delayMs = backoff.fail(o.clock.now());
    log.warn('accepting the job got no answer; retrying', { attempt, delayMs, status: ack.status, ...(ack.transportError ? { error: ack.transportError.message } : {}) });
    // Interrupted: the next call rejects at once and the job is dropped.
    await o.clock.sleep(delayMs, { signal: o.interrupt }).catch(() => undefined);
  }
}

/** Runs the job with its trace; resolves to how the final update ended (undefined: it failed before an answer). */
async function traced(o: BuildOptions, record: RunningBuild, log: Logger, canceledAtStart: boolean, updateIntervalMs: number | undefined): Promise<FinalUpdateResult['outcome'] | undefined> {
  const { runner, job, clock } = o;
  const entry = runner.entry;
  const flags = traceFlags(entry, job);
  const trace = new JobTrace({
    api: runner.client,
    job,
    clock,
    logger: log,
    outputLimitBytes: entry.outputLimitKb * 1024,
    mask: { phrases: job.variables.filter((v) => v.masked && v.value).map((v) => v.value), tokenPrefixes: job.features.tokenMaskPrefixes },
    failureReasons: job.features.failureReasons,
    finalUpdateRetryLimit: entry.jobStatusFinalUpdateRetryLimit,
    debugTrace: flags.debugTrace,
    timestamps: flags.timestamps,
    dynamicForceSendInterval: flags.dynamicForceSend,
    // GitLab's interval from the acceptance answer applies from the first round on.
    ...(updateIntervalMs ? { updateIntervalMs: Math.min(updateIntervalMs, MAX_UPDATE_INTERVAL_MS) } : {}),
  });
  const write = (chunk: string | Buffer, stream?: LogStream): void => trace.write(chunk, stream);
  trace.start();
  write(`Running with gitlab-runner ${o.version.version} (fleetrunner)\n  on ${entry.name || 'runner'} ${runner.short}, system ID: ${o.systemId}\n`);
  const started = clock.now();
  const outcome = canceledAtStart
    ? ({ state: 'failed', reason: 'job_canceled' } as const)
    : await execute(o, record, write, trace, log);
  record.state = 'finishing';
  // The instance is not needed for the final update, which may be retried for minutes (GitLab Runner also
  // cleans up the executor first).
  o.ticket.release();
  const final = await trace.finish(outcome, { signal: o.finishSignal }).catch((err: unknown) => {
    log.error('sending the final job state failed', { error: toRunnerError(err).message });
    return undefined;
  });
  const fields = { state: outcome.state, ...(outcome.state === 'failed' ? { reason: outcome.reason } : {}), update: final?.outcome ?? 'failed', durationMs: clock.now() - started };
  if (final?.outcome === 'ok' || final?.outcome === 'aborted') log.info('job finished', fields);
  else log.error('job finished, but GitLab did not get its final state', { ...fields, attempts: final?.attempts });
  o.metrics.jobFinished(runner.labels, outcome, (clock.now() - started) / 1000);
  return final?.outcome;
}

async function execute(o: BuildOptions, record: RunningBuild, write: (c: string | Buffer, stream?: LogStream) => void, trace: JobTrace, log: Logger): Promise<JobOutcome> {
  const { runner, job, clock } = o;
  const entry = runner.entry;
  const stop = linkSignals(trace.abortSignal, o.interrupt, o.failSignal);
  const cid = runner.concurrentIds.take();
  const projectSlots = runner.projectSlots(job.jobInfo.projectId);
  const pid = projectSlots.take();
  const artifacts = new GitLabArtifactBackend({ client: runner.client, job, directDownload: traceFlags(entry, job).directDownload, logger: log });
  try {
    const result = await runFleetJob({
      entry,
      identity: {
        shortToken: runner.short,
        managerHostname: o.managerHostname,
        version: o.version,
        // The CA chain and client certificate the runner talks to GitLab with: CI_SERVER_TLS_*_FILE, trusted by git.
        ...(runner.tls.ca || runner.tls.cert ? { serverTls: { ...(runner.tls.ca ? { caChain: runner.tls.ca } : {}), ...(runner.tls.cert && runner.tls.key ? { authCert: runner.tls.cert, authKey: runner.tls.key } : {}) } } : {}),
      },
      ticket: o.ticket,
      payload: job,
      concurrentId: cid,
      concurrentProjectId: pid,
      log: write,
      artifacts,
      cache: new LocalArchiveStore(projectCacheDir(o.cacheRoot, runner.short, job.jobInfo.projectId), { privateFrom: o.cacheRoot }),
      clock,
      logger: log,
      abortSignal: stop.signal,
      cancelSignal: trace.cancelSignal,
      ...(o.failSignal ? { failSignal: o.failSignal } : {}),
      onPrepared: () => (record.state = 'running'),
      onStage: (stage, phase) => {
        if (phase === 'start') record.stage = stage;
      },
    });
    if (result.unsupported) return { state: 'failed', ...(result.failureReason && result.failureReason !== 'job_canceled' ? { reason: result.failureReason } : {}) };
    for (const s of result.stages) o.metrics.jobStageFinished(runner.labels, s.name, s.durationMs / 1000);
    const outcome = outcomeOf(result, o.interrupt);
    if (outcome.state === 'failed' && outcome.reason === 'runner_interrupted') write(errorLine('Job failed: the runner manager was stopped (runner_interrupted)'));
    return outcome;
  } catch (err) {
    return failureOf(err, o, trace, write);
  } finally {
    stop.dispose();
    runner.concurrentIds.give(cid);
    projectSlots.give(pid);
    await artifacts.cleanup();
  }
}

function outcomeOf(r: JobResult, interrupt: AbortSignal): JobOutcome {
  if (r.status === 'success') return { state: 'success' };
  if (interrupt.aborted && r.failureReason !== 'script_failure') return { state: 'failed', reason: 'runner_interrupted' };
  return { state: 'failed', ...(r.failureReason ? { reason: r.failureReason } : {}), ...(r.exitCode !== undefined ? { exitCode: r.exitCode } : {}) };
}

function failureOf(err: unknown, o: BuildOptions, trace: JobTrace, write: (c: string) => void): JobOutcome {
  if (o.failSignal?.aborted) {
    write(errorLine(`Job failed (system failure): ${toRunnerError(o.failSignal.reason).message}`));
    return { state: 'failed', reason: 'runner_system_failure' };
  }
  if (o.interrupt.aborted) {
    write(errorLine('Job failed: the runner is shutting down'));
    return { state: 'failed', reason: 'runner_interrupted' };
  }
  if (trace.abortSignal.aborted || trace.cancelSignal.aborted) {
    write(errorLine('Job canceled'));
    return { state: 'failed', reason: 'job_canceled' };
  }
  const e = toRunnerError(err);
  write(errorLine(`Job failed (system failure): ${e.message}`));
  return { state: 'failed', reason: e instanceof RunnerError && e.code === 'timeout' ? 'job_execution_timeout' : 'runner_system_failure' };
}


