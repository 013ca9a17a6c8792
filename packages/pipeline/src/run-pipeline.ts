import { hostname } from 'node:os';
import { linkSignals, toRunnerError, type Clock, type Logger } from '@fleetrunner/common';
import type { RunnerEntry } from '@fleetrunner/config';
import {
  LocalArtifactBackend,
  LowestFree,
  runFleetJob,
  waitForSlot,
  type ArchiveStore,
  type InstanceFleet,
  type JobResult as ExecJobResult,
  type RunnerIdentity,
  type SlotTicket,
  type StageRecord,
} from '@fleetrunner/executor';
import { StreamMasker, errorLine, type JobDependency } from '@fleetrunner/gitlab';
import { payloadOf } from './payload.js';
import type { Pipeline, PlannedJob, Schedule } from './index.js';

import { sourceArchive, sourceFileList } from './sources.js';

/** One job's run, for the summary and the JSON report. */
export interface JobReport {
  name: string;
  stage: string;
  status: 'success' | 'failed' | 'canceled' | 'skipped' | 'manual';
  allowedToFail: boolean;
  exitCode?: number;
  failureReason?: string;
  message?: string;
  instanceId?: string;
  slot?: number;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  stages: StageRecord[];
  log: string;
}

/** What the pipeline runner needs. */
export interface PipelineRunOptions {
  pipeline: Pipeline;
  schedule: Schedule;
  fleet: InstanceFleet;
  /** The `[[runners]]` entry: executor settings, scripts, timeouts and checks come from it as in `runner run`. */
  entry: RunnerEntry;
  /** Short token and version (the manager host name is filled in). */
  identity: Omit<RunnerIdentity, 'managerHostname'>;
  /** How often a job waiting for a free slot tries again, ms (it also tries whenever a job ends). */
  slotRetryMs: number;
  /** A job waiting for a slot while no other job holds one gives up after this long, ms (`instance_acquire_timeout`). */
  slotGiveUpMs: number;
  /** Max jobs at once (`concurrent`, and the runner's `limit` when lower). */
  concurrent: number;
  cache: ArchiveStore;
  artifacts: ArchiveStore;
  clock: Clock;
  logger: Logger;
  /** Called when a job starts and when it ends (for live progress). */
  onJobStart?(job: PlannedJob, where: { instanceId: string; slot: number }): void;
  onJobEnd?(report: JobReport): void;
  /** The job's log as it is written (masked), for live output; the whole log is also in its report. */
  onJobLog?(job: PlannedJob, chunk: Buffer): void;
  signal?: AbortSignal;
}

/**
 * Runs the scheduled jobs of a local pipeline through the job path `runner run` uses (runFleetJob: settings from the
 * runner entry, unsupported-job check, slot ticket → acquire + dial, executor), at most `concurrent` at once, and
 * returns a report per job in pipeline order. A job for which no slot is free waits for one (as a pending job
 * waits at GitLab) instead of failing.
 */
export async function runPipeline(o: PipelineRunOptions): Promise<JobReport[]> {
  const reports = new Map<string, JobReport>();
  const producedArtifacts = new Map<string, number>();
  const running = new Set<Promise<void>>();
  const concurrentIds = new LowestFree();
  const projectIds = new LowestFree();
  const files = sourceFileList(o.pipeline.projectDir);
  const managerHostname = hostname();
  // Wakes the jobs waiting for a slot whenever a job ends (its instance may be freed or deleted soon after).
  let jobEnded = deferred();
  /** Jobs of this run that hold a slot (capacity comes back when they end). */
  let holding = 0;

  const runOne = async (job: PlannedJob): Promise<void> => {
    const key = `exec-${job.name}-${o.clock.now()}`;
    const started = o.clock.now();
    const report: JobReport = { name: job.name, stage: job.stage, status: 'failed', allowedToFail: false, stages: [], log: '' };
    const masker = new StreamMasker(job.variables.filter((x) => x.masked && x.value).map((x) => x.value));
    const chunks: Buffer[] = [];
    const keep = (masked: Buffer): void => {
      chunks.push(masked);
      if (masked.length > 0) o.onJobLog?.(job, masked);
    };
    const log = (chunk: string | Buffer): void => keep(masker.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
    const deps: JobDependency[] = job.dependencies.flatMap((name) => {
      const id = producedArtifacts.get(name);
      return id === undefined ? [] : [{ id, token: '', name, artifactsFile: { filename: 'artifacts.tar', size: 0 } }];
    });
    const payload = payloadOf(job, deps);
    // CI_CONCURRENT_ID / _PROJECT_ID number the jobs that run, not those waiting for a slot.
    let cid = -1;
    let pid = -1;
    const link = linkSignals(o.signal);
    let ticket: SlotTicket | undefined;
    let result: ExecJobResult;
    try {
      log(`Running with fleetrunner on ${managerHostname}\n`);
      ticket = await waitForSlot(o.fleet, key, {
        clock: o.clock,
        retryMs: o.slotRetryMs,
        signal: link.signal,
        capacityChanged: () => jobEnded.promise,
        othersRunning: () => holding > 0,
        giveUpAfterMs: o.slotGiveUpMs,
      });
      holding++;
      cid = concurrentIds.take();
      pid = projectIds.take();
      result = await runFleetJob({
        entry: o.entry,
        identity: { ...o.identity, managerHostname },
        ticket,
        payload,
        concurrentId: cid,
        concurrentProjectId: pid,
        log,
        artifacts: new LocalArtifactBackend(o.artifacts, payload.id),
        cache: o.cache,
        clock: o.clock,
        logger: o.logger,
        abortSignal: link.signal,
        sourceArchive: () => sourceArchive(o.pipeline.projectDir, files),
        onPrepared: ({ acquisition: acq }) => {
          report.instanceId = acq.instanceId;
          report.slot = acq.slot;
          report.startedAt = new Date(o.clock.now()).toISOString();
          o.onJobStart?.(job, { instanceId: acq.instanceId, slot: acq.slot });
        },
      });
    } catch (err) {
      const e = toRunnerError(err);
      log(errorLine(`Job failed (system failure): ${e.message}`));
      result = { status: 'failed', failureReason: 'runner_system_failure', message: e.message, stages: [], durationMs: o.clock.now() - started };
    } finally {
      if (ticket) {
        ticket.release();
        holding--;
      }
      link.dispose();
      if (cid >= 0) concurrentIds.give(cid);
      if (pid >= 0) projectIds.give(pid);
      const ended = jobEnded;
      jobEnded = deferred();
      ended.resolve();
    }
    keep(masker.flush());
    report.log = Buffer.concat(chunks).toString();
    report.status = result.status;
    report.stages = result.stages;
    report.finishedAt = new Date(o.clock.now()).toISOString();
    report.durationMs = o.clock.now() - started;
    if (result.exitCode !== undefined) report.exitCode = result.exitCode;
    if (result.failureReason) report.failureReason = result.failureReason;
    if (result.message) report.message = result.message;
    if (job.artifacts.length > 0 && result.stages.some((s) => s.name.startsWith('upload_artifacts') && s.outcome === 'success')) producedArtifacts.set(job.name, payload.id);
    const outcome = o.schedule.finish(job.name, { status: result.status, ...(result.exitCode !== undefined ? { exitCode: result.exitCode } : {}), ...(result.failureReason ? { failureReason: result.failureReason } : {}) });
    report.allowedToFail = o.schedule.jobs.find((j) => j.job.name === job.name)?.allowedToFail ?? false;
    reports.set(job.name, report);
    o.onJobEnd?.(report);
    if (outcome === 'retry') log(`Retrying ${job.name}\n`);
  };

  const wake = { fn: (): void => {} };
  while (!o.schedule.done()) {
    if (o.signal?.aborted) o.schedule.cancel();
    for (const job of o.schedule.ready()) {
      if (running.size >= o.concurrent) break;
      o.schedule.start(job.name);
      const p: Promise<void> = runOne(job)
        .catch((err: unknown) => o.logger.error('job runner failed', { job: job.name, error: toRunnerError(err).message }))
        .finally(() => {
          running.delete(p);
          wake.fn();
        });
      running.add(p);
    }
    if (running.size === 0) break;
    await new Promise<void>((resolve) => (wake.fn = resolve));
  }
  await Promise.all(running);
  return o.schedule.jobs.map(
    (j) =>
      reports.get(j.job.name) ?? {
        name: j.job.name,
        stage: j.job.stage,
        status: j.state === 'manual' ? 'manual' : j.state === 'canceled' ? 'canceled' : 'skipped',
        allowedToFail: false,
        ...(j.reason ? { message: j.reason } : {}),
        stages: [],
        log: '',
      },
  );
}

function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
