import { RunnerError, linkSignals, type Clock, type Logger } from '@fleetrunner/common';
import type { RunnerEntry } from '@fleetrunner/config';
import { errorLine, sectionEnd, sectionHeader, warningLine, type JobPayload, type LogStream } from '@fleetrunner/gitlab';
import type { Readable } from 'node:stream';
import type { ArchiveStore } from '../files/stores.js';
import { runJob } from '../job/run-job.js';
import type { ArtifactBackend, JobResult, StagePhase } from '../job/types.js';
import { executorSettings, unsupportedJob, type RunnerIdentity } from './settings.js';
import type { PreparedInstance, SlotTicket } from './slot-ticket.js';
import { enterVm, nestingImage, type NestedVm } from './vm-isolation.js';

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
  log: (chunk: string | Buffer, stream?: LogStream) => void;
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

/** How a job ended: `unsupported` when it was failed before an instance was prepared; `vm` when it ran in a nested VM. */
export type FleetJobResult = JobResult & { prepared?: PreparedInstance; unsupported?: boolean; vm?: { id: string; name: string } };

/**
 * The one job path of the instance executor, for `runner run` and `runner exec` alike: the unsupported-job check,
 * executor settings from the runner entry, `prepare_executor` (acquire + dial within `prepare_timeout`), then the
 * job's stages. Throws (a RunnerError) when the instance could not be prepared; the caller maps that to a failure
 * and releases the ticket.
 */
export async function runFleetJob(o: FleetJobOptions): Promise<FleetJobResult> {
  const { entry } = o;
  const bad = unsupportedJob(entry, o.payload);
  if (bad) {
    o.log(errorLine(`Job failed (system failure): ${bad.message}`));
    return { status: 'failed', failureReason: bad.reason, message: bad.message, stages: [], durationMs: 0, unsupported: true };
  }
  let image: string | undefined;
  if (entry.autoscaler?.vmIsolation.enabled) {
    const chosen = nestingImage(entry, o.payload);
    if ('error' in chosen) {
      // Checked before an instance is taken; retrying would not change the answer.
      o.log(errorLine(`Job failed (system failure): ${chosen.error}`));
      return { status: 'failed', failureReason: 'runner_system_failure', message: chosen.error, stages: [], durationMs: 0, unsupported: true };
    }
    image = chosen.image;
  }
  const { settings, warnings } = executorSettings(entry, o.identity);
  const { prepared, vm } = await prepare(o, warnings, image);
  o.onPrepared?.(prepared);
  try {
    const result = await runStages(o, prepared, vm, settings);
    return { ...result, prepared, ...(vm ? { vm: { id: vm.id, name: vm.name } } : {}) };
  } finally {
    await vm?.release();
  }
}

async function runStages(o: FleetJobOptions, prepared: PreparedInstance, vm: NestedVm | undefined, settings: ReturnType<typeof executorSettings>['settings']): Promise<JobResult> {
  const { clock } = o;
  return runJob({
    payload: o.payload,
    // With vm_isolation every stage runs in the VM, never on the instance itself.
    connection: vm ? vm.connection : prepared.connection,
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
}

async function prepare(o: FleetJobOptions, warnings: string[], image: string | undefined): Promise<{ prepared: PreparedInstance; vm?: NestedVm }> {
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
    const prepared = await o.ticket.prepare({
      log: o.log,
      clock,
      signal: stop.signal,
      logInternalIp: entry.autoscaler?.logInternalIp ?? false,
      logExternalIp: entry.autoscaler?.logExternalIp ?? false,
    });
    if (image === undefined) return { prepared };
    const through = o.ticket.through;
    if (!through) throw new RunnerError('unsupported', 'vm_isolation: this fleet\'s connector cannot reach nested VMs');
    const acq = prepared.acquisition;
    const vmStop = linkSignals(stop.signal, acq.signal);
    try {
      const vm = await enterVm({
        host: prepared.connection,
        instanceId: acq.instanceId,
        slot: acq.slot,
        image,
        vm: entry.autoscaler!.vmIsolation,
        connector: through,
        log: o.log,
        clock,
        signal: vmStop.signal,
        ...(o.logger ? { logger: o.logger } : {}),
      });
      return { prepared, vm };
    } finally {
      vmStop.dispose();
    }
  } finally {
    timer?.clear();
    stop.dispose();
    o.log(sectionEnd('prepare_executor', clock.now() / 1000));
    o.onStage?.('prepare_executor', 'end');
  }
}
