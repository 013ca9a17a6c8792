import { RunnerError, linkSignals, type Clock, type Logger } from '@fleetrunner/common';
import type { RunnerEntry } from '@fleetrunner/config';
import { errorLine, sectionEnd, sectionHeader, warningLine, type JobPayload } from '@fleetrunner/gitlab';
import type { Readable } from 'node:stream';
import type { ArchiveStore } from '../files/stores.js';
import { runJob } from '../job/run-job.js';
import type { ArtifactBackend, JobResult, StagePhase } from '../job/types.js';
import { executorSettings, unsupportedJob, type RunnerIdentity } from './settings.js';
import type { PreparedInstance, SlotTicket } from './slot-ticket.js';

/** What {@link runFleetJob} needs: the runner entry, the job, its reserved slot and where its output goes. */
export interface FleetJobOptions {
  entry: RunnerEntry;
  identity: RunnerIdentity;
  /** The job's reserved slot; the caller releases it. */
  ticket: SlotTicket;
  payload: JobPayload;
  /** CI_CONCURRENT_ID / CI_CONCURRENT_PROJECT_ID. */
  concurrentId: number;
  concurrentProjectId: number;
  /** The job log (masking is the sink's job). */
  log: (chunk: string | Buffer) => void;
  artifacts: ArtifactBackend;
  cache: ArchiveStore;
  clock: Clock;
  logger?: Logger;
  /** Hard abort: everything stops. */
  abortSignal: AbortSignal;
  /** Graceful cancel (also stops the preparation). */
  cancelSignal?: AbortSignal;
  /** The manager fails the job from outside. */
  failSignal?: AbortSignal;
  /** `runner exec`: the local working tree instead of git. */
  sourceArchive?: () => Readable;
  /** The instance is ready: the job's user-visible part starts. */
  onPrepared?(prepared: PreparedInstance): void;
  /** Each stage as it starts and ends (`prepare_executor` included). */
  onStage?(stage: string, phase: StagePhase): void;
}

/** How a job ended: `unsupported` when it was failed before an instance was prepared. */
export type FleetJobResult = JobResult & { prepared?: PreparedInstance; unsupported?: boolean };

/**
 * The one job path of the instance executor, for `runner run` and `runner exec` alike: the unsupported-job check,
 * executor settings from the runner entry, `prepare_executor` (acquire + dial within `prepare_timeout`), then the
 * job's stages. Throws (a RunnerError) when the instance could not be prepared; the caller maps that to a failure
 * and releases the ticket.
 */
export async function runFleetJob(o: FleetJobOptions): Promise<FleetJobResult> {
  const { entry, clock } = o;
  const bad = unsupportedJob(entry, o.payload);
  if (bad) {
    o.log(errorLine(`Job failed (system failure): ${bad.message}`));
    return { status: 'failed', failureReason: bad.reason, message: bad.message, stages: [], durationMs: 0, unsupported: true };
  }
  const { settings, warnings } = executorSettings(entry, o.identity);
  const prepared = await prepare(o, warnings);
  o.onPrepared?.(prepared);
  const result = await runJob({
    payload: o.payload,
    connection: prepared.connection,
    instanceId: prepared.acquisition.instanceId,
    slot: prepared.acquisition.slot,
    concurrentId: o.concurrentId,
    concurrentProjectId: o.concurrentProjectId,
    settings,
    log: { write: o.log },
    artifacts: o.artifacts,
    cache: o.cache,
    clock,
    ...(o.logger ? { logger: o.logger } : {}),
    abortSignal: o.abortSignal,
    ...(o.cancelSignal ? { cancelSignal: o.cancelSignal } : {}),
    lostSignal: prepared.acquisition.signal,
    ...(o.failSignal ? { failSignal: o.failSignal } : {}),
    ...(o.sourceArchive ? { sourceArchive: o.sourceArchive } : {}),
    ...(o.onStage ? { onStage: o.onStage } : {}),
  });
  return { ...result, prepared };
}

async function prepare(o: FleetJobOptions, warnings: string[]): Promise<PreparedInstance> {
  const { entry, clock } = o;
  o.log(sectionHeader('prepare_executor', 'Preparing the "instance" executor', clock.now()));
  o.onStage?.('prepare_executor', 'start');
  for (const w of warnings) o.log(warningLine(w));
  const deadline = new AbortController();
  const timer =
    entry.prepareTimeoutMs > 0
      ? clock.setTimeout(() => deadline.abort(new RunnerError('timeout', `preparing the instance took longer than prepare_timeout (${entry.prepareTimeoutMs / 1000}s)`)), entry.prepareTimeoutMs)
      : undefined;
  const stop = linkSignals(o.abortSignal, o.cancelSignal, o.failSignal, deadline.signal);
  try {
    return await o.ticket.prepare({
      log: o.log,
      clock,
      signal: stop.signal,
      logInternalIp: entry.autoscaler?.logInternalIp ?? false,
      logExternalIp: entry.autoscaler?.logExternalIp ?? false,
    });
  } finally {
    timer?.clear();
    stop.dispose();
    o.log(sectionEnd('prepare_executor', clock.now() / 1000));
    o.onStage?.('prepare_executor', 'end');
  }
}
