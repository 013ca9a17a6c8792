import { Backoff, RunnerError, nullLogger, raceAbort, systemClock, type Clock, type Logger, type Timer } from '@fleetrunner/common';
import { mapFailureReason } from './failure-reasons.js';
import { DEFAULT_OUTPUT_LIMIT_BYTES, TraceBuffer, type MaskOptions } from './trace-buffer.js';
import { MAX_UPDATE_INTERVAL_MS, type PatchTraceResult, type UpdateJobResult } from './results.js';
import type { GitLabClient, JobUpdate } from './client.js';
import type { JobCredentials } from './job-payload.js';
import type { LogStream } from './log-timestamper.js';

/** Default trace update interval, ms (GitLab may override it per response). */
export const DEFAULT_UPDATE_INTERVAL_MS = 3_000;
/** A keep-alive PUT is sent when nothing was sent for this long, ms. */
export const DEFAULT_FORCE_SEND_INTERVAL_MS = 30_000;
/** Largest trace PATCH body, bytes. */
export const DEFAULT_MAX_PATCH_BYTES = 1024 * 1024;
/** Final update retries before giving up (`job_status_final_update_retry_limit`). */
export const DEFAULT_FINAL_UPDATE_RETRY_LIMIT = 10;
/** Back-off of failed final-update rounds: 1 s doubling to 60 min, no jitter (GitLab Runner's `DefaultfinalUpdateBackoffMax`). */
const FINAL_BACKOFF_MIN_MS = 1_000;
const FINAL_BACKOFF_MAX_MS = 60 * 60 * 1000;

/** The calls a JobTrace makes (a GitLabClient has them). */
export type TraceApi = Pick<GitLabClient, 'patchTrace' | 'updateJob'>;

/** Options of a {@link JobTrace}. */
export interface JobTraceOptions {
  api: TraceApi;
  job: JobCredentials;
  clock?: Clock;
  logger?: Logger;
  /** Log cap in bytes (`output_limit` × 1024). Default 4 MiB. */
  outputLimitBytes?: number;
  /** Masked variable values and the payload's `features.token_mask_prefixes`. */
  mask?: MaskOptions;
  /** The payload's `features.failure_reasons`: what GitLab accepts in the final update. */
  failureReasons?: readonly string[];
  /** Default 3 s. */
  updateIntervalMs?: number;
  /** Default 30 s. */
  forceSendIntervalMs?: number;
  /** FF_USE_DYNAMIC_TRACE_FORCE_SEND_INTERVAL: force-send = clamp(4 × interval, 30 s, 30 min). Default false. */
  dynamicForceSendInterval?: boolean;
  /** Default 1 MiB. */
  maxPatchBytes?: number;
  /** Sent as `debug_trace` on every PATCH. Default false. */
  debugTrace?: boolean;
  /** FF_TIMESTAMPS: every log line gets its time and stream prefix (times from `clock`). Default false. */
  timestamps?: boolean;
  /** Retries of a failed final-update round (a failed PATCH of the log's tail or a failed PUT). Default 10. */
  finalUpdateRetryLimit?: number;
  /** Called after each round of the update loop, once the next round is scheduled (or the loop ended). */
  onRound?: (round: { patch: PatchTraceResult; touch?: UpdateJobResult }) => void;
}

/** How the job ended, from the runner's point of view. */
export type JobOutcome = { state: 'success' } | { state: 'failed'; reason?: string; exitCode?: number };

/** What the final update achieved. */
export interface FinalUpdateResult {
  /** `ok`: GitLab stored the state; `aborted`: GitLab refused (403/404/canceled); `gave_up`: retry limit reached. */
  outcome: 'ok' | 'aborted' | 'gave_up';
  /** PUT attempts made. */
  attempts: number;
  checksum: string;
  bytesize: number;
  /** The failure reason actually sent (after mapping), if the job failed. */
  failureReason?: string;
}

/**
 * The live job log and the job's status channel to GitLab. Output written with {@link write} is masked and capped
 * synchronously; {@link start} begins the update loop (a PATCH of the unsent tail every interval, a keep-alive PUT
 * when idle); {@link finish} flushes everything and sends the final state. GitLab's answers drive two signals:
 * `cancelSignal` fires on `Job-Status: canceling` (stop the user script, still run after_script, cache and
 * artifacts) and `abortSignal` on `canceled`/`failed`/403 (stop everything).
 */
export class JobTrace {
  readonly buffer: TraceBuffer;
  private readonly api: TraceApi;
  private readonly job: JobCredentials;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly failureReasons: readonly string[];
  private readonly maxPatchBytes: number;
  private readonly debugTrace: boolean;
  private readonly retryLimit: number;
  private readonly baseForceSendMs: number;
  private readonly dynamicForceSend: boolean;
  private readonly onRound: JobTraceOptions['onRound'];
  private readonly cancelController = new AbortController();
  private readonly abortController = new AbortController();
  private readonly loopController = new AbortController();
  private updateIntervalMs: number;
  private forceSendMs: number;
  private sentOffset = 0;
  private sentAt = Number.NEGATIVE_INFINITY;
  private timer: Timer | undefined;
  private inflight: Promise<void> | undefined;
  private finishing: Promise<FinalUpdateResult> | undefined;
  private lastJobStatus = '';
  /** `idle` before start, `running` while the loop runs, `finishing`/`finished` after {@link finish}, `stopped` after {@link stop}. */
  state: 'idle' | 'running' | 'finishing' | 'finished' | 'stopped' = 'idle';

  constructor(options: JobTraceOptions) {
    this.api = options.api;
    this.job = options.job;
    this.clock = options.clock ?? systemClock;
    this.logger = (options.logger ?? nullLogger).child({ component: 'job-trace', job: options.job.id });
    const clock = this.clock;
    this.buffer = new TraceBuffer(options.outputLimitBytes ?? DEFAULT_OUTPUT_LIMIT_BYTES, options.mask ?? {}, options.timestamps ? { timestamps: { now: () => clock.now() } } : {});
    this.failureReasons = options.failureReasons ?? [];
    this.maxPatchBytes = options.maxPatchBytes ?? DEFAULT_MAX_PATCH_BYTES;
    this.debugTrace = options.debugTrace ?? false;
    this.retryLimit = options.finalUpdateRetryLimit ?? DEFAULT_FINAL_UPDATE_RETRY_LIMIT;
    this.updateIntervalMs = options.updateIntervalMs ?? DEFAULT_UPDATE_INTERVAL_MS;
    this.baseForceSendMs = options.forceSendIntervalMs ?? DEFAULT_FORCE_SEND_INTERVAL_MS;
    this.forceSendMs = this.baseForceSendMs;
    this.dynamicForceSend = options.dynamicForceSendInterval ?? false;
    this.onRound = options.onRound;
  }

  /** Fires on `Job-Status: canceling`: graceful cancel. */
  get cancelSignal(): AbortSignal {
    return this.cancelController.signal;
  }

  /** Fires on `Job-Status: canceled|failed` or HTTP 403/404: abort the whole job. */
  get abortSignal(): AbortSignal {
    return this.abortController.signal;
  }

  /** The last `Job-Status` GitLab sent ('' before any). */
  get remoteJobStatus(): string {
    return this.lastJobStatus;
  }

  /** The current update interval, ms (3 s unless GitLab said otherwise). */
  get updateInterval(): number {
    return this.updateIntervalMs;
  }

  /** Bytes GitLab acknowledged so far. */
  get acknowledgedBytes(): number {
    return this.sentOffset;
  }

  /** Appends job output (masked, timestamped with FF_TIMESTAMPS, capped) of `stream` (default: the runner's own lines). Ignored after {@link finish}. */
  write(chunk: string | Uint8Array, stream?: LogStream): void {
    this.buffer.write(chunk, stream);
  }

  /** Starts the update loop. Idempotent. */
  start(): void {
    if (this.state !== 'idle') return;
    this.state = 'running';
    this.schedule();
  }

  /** Stops the loop without a final update (the job was dropped or GitLab aborted it). Idempotent. */
  async stop(): Promise<void> {
    if (this.state !== 'idle' && this.state !== 'running') return;
    this.state = 'stopped';
    this.stopLoop();
    this.loopController.abort(new RunnerError('aborted', 'job trace stopped'));
    await this.inflight?.catch(() => undefined);
  }

  /**
   * Flushes the whole log, then sends the final state with checksum and size, retrying per GitLab Runner's rules:
   * 202 and 412 after the update interval; a failed round — a PATCH or PUT that got a 5xx or no response at all
   * (dropped connection, timeout) — with back-off from 1 s doubling to 60 min; at most `finalUpdateRetryLimit`
   * retries, then `gave_up` (logged as an error). Idempotent: later calls return the first call's promise.
   */
  finish(outcome: JobOutcome, options: { signal?: AbortSignal } = {}): Promise<FinalUpdateResult> {
    this.finishing ??= this.finalUpdate(outcome, options.signal);
    return this.finishing;
  }

  private schedule(): void {
    if (this.state !== 'running') return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.inflight = this.tick().catch((err: unknown) => {
        if (!this.loopController.signal.aborted) this.logger.warn('trace update failed', { error: err });
      });
    }, this.updateIntervalMs);
  }

  private stopLoop(): void {
    this.timer?.clear();
    this.timer = undefined;
  }

  private async tick(): Promise<void> {
    if (this.state !== 'running') return;
    const round = await this.incrementalUpdate();
    if (round.keepGoing) this.schedule();
    this.onRound?.(round.touch ? { patch: round.patch, touch: round.touch } : { patch: round.patch });
  }

  /** One round of the loop; `keepGoing` is false when GitLab aborted the job. */
  private async incrementalUpdate(): Promise<{ keepGoing: boolean; patch: PatchTraceResult; touch?: UpdateJobResult }> {
    const patch = await this.sendPatch(this.loopController.signal);
    this.observe(patch);
    if (patch.outcome === 'abort' || patch.outcome === 'not_found') {
      this.requestAbort(patch);
      return { keepGoing: false, patch };
    }
    if (patch.outcome === 'failed') this.warnFailed('appending the trace failed; retrying next round', patch);
    if (patch.outcome !== 'ok') return { keepGoing: true, patch };
    const touch = await this.touch(this.loopController.signal);
    if (!touch) return { keepGoing: true, patch };
    this.observe(touch);
    if (touch.outcome === 'failed') this.warnFailed('the keep-alive job update failed; retrying next round', touch);
    if (touch.outcome === 'abort') {
      this.requestAbort(touch);
      return { keepGoing: false, patch, touch };
    }
    return { keepGoing: true, patch, touch };
  }

  private observe(r: PatchTraceResult | UpdateJobResult): void {
    if (r.jobStatus) this.lastJobStatus = r.jobStatus;
    if (r.cancelRequested && !this.cancelController.signal.aborted) {
      this.logger.info('GitLab asked to cancel the job gracefully', { jobStatus: r.jobStatus });
      this.cancelController.abort(new RunnerError('aborted', 'job canceled (Job-Status: canceling)', { details: { jobStatus: r.jobStatus } }));
    }
  }

  private requestAbort(r: PatchTraceResult | UpdateJobResult): void {
    if (this.abortController.signal.aborted) return;
    const why = r.jobStatus ? `Job-Status: ${r.jobStatus}` : r.status ? `HTTP ${r.status}` : 'no response';
    this.logger.warn('GitLab aborted the job', { status: r.status, jobStatus: r.jobStatus });
    this.abortController.abort(new RunnerError('aborted', `job aborted by GitLab (${why})`, { details: { status: r.status, jobStatus: r.jobStatus } }));
  }

  private setUpdateInterval(ms: number | undefined): void {
    if (ms === undefined || ms <= 0) return;
    this.updateIntervalMs = Math.min(ms, MAX_UPDATE_INTERVAL_MS);
    if (this.dynamicForceSend) this.forceSendMs = Math.min(Math.max(this.updateIntervalMs * 4, 30_000), 30 * 60 * 1000);
  }

  private async sendPatch(signal: AbortSignal | undefined): Promise<PatchTraceResult> {
    const offset = this.sentOffset;
    const content = this.buffer.bytes(offset, this.maxPatchBytes);
    if (content.length === 0) return { outcome: 'ok', sentOffset: offset, status: 0, jobStatus: '', cancelRequested: false };
    const r = await this.api.patchTrace(this.job, content, offset, { debugTrace: this.debugTrace, ...(signal ? { signal } : {}) });
    this.setUpdateInterval(r.updateIntervalMs);
    if (r.outcome === 'ok' || r.outcome === 'range_mismatch') {
      this.sentAt = this.clock.now();
      this.sentOffset = r.sentOffset;
      if (r.outcome === 'range_mismatch') this.logger.warn('trace range mismatch; resending from the server offset', { offset, serverOffset: r.sentOffset });
    }
    return r;
  }

  /** Keep-alive PUT when nothing was sent for the force-send interval; undefined when not due. */
  private async touch(signal: AbortSignal): Promise<UpdateJobResult | undefined> {
    if (this.clock.now() - this.sentAt <= this.forceSendMs) return undefined;
    const r = await this.api.updateJob(this.job, { state: 'running', checksum: this.buffer.checksum(), bytesize: this.buffer.size }, { signal });
    this.setUpdateInterval(r.updateIntervalMs);
    // A lost keep-alive (`failed`, also without a response) is retried next round: a blip must not abort a job.
    if (r.outcome === 'ok') this.sentAt = this.clock.now();
    return r;
  }

  private warnFailed(msg: string, r: PatchTraceResult | UpdateJobResult, fields: Record<string, unknown> = {}): void {
    if (this.loopController.signal.aborted && this.state === 'stopped') return;
    this.logger.warn(msg, { ...fields, status: r.status, ...(r.transportError ? { error: r.transportError.message } : {}) });
  }

  /**
   * Sends the unsent tail. True when the PUT may follow: all acknowledged, or GitLab stopped the job (the PUT then
   * learns it too). False when a PATCH failed (5xx after the client's retries, or no response).
   */
  private async flush(signal: AbortSignal | undefined): Promise<boolean> {
    while (this.sentOffset < this.buffer.size) {
      const r = await this.sendPatch(signal);
      this.observe(r);
      if (r.outcome === 'ok') continue;
      if (r.outcome === 'abort' || r.outcome === 'not_found') return true;
      if (r.outcome === 'failed') {
        this.warnFailed('sending the end of the trace failed', r, { sent: this.sentOffset, size: this.buffer.size });
        return false;
      }
      // 416: continue from GitLab's offset after one interval, as GitLab Runner does.
      await this.clock.sleep(this.updateIntervalMs, signal ? { signal } : {});
    }
    return true;
  }

  private async finalUpdate(outcome: JobOutcome, signal: AbortSignal | undefined): Promise<FinalUpdateResult> {
    const wasStopped = this.state === 'stopped';
    this.state = 'finishing';
    this.buffer.finish();
    this.stopLoop();
    if (this.inflight) await raceAbort(this.inflight, signal);
    // Fall back to the default interval and let GitLab override it, as GitLab Runner does.
    this.updateIntervalMs = DEFAULT_UPDATE_INTERVAL_MS;
    const update: JobUpdate = { state: outcome.state };
    if (outcome.state === 'failed') {
      update.failureReason = mapFailureReason(outcome.reason, this.failureReasons);
      if (outcome.exitCode !== undefined) update.exitCode = outcome.exitCode;
    }
    const result = (o: FinalUpdateResult['outcome'], attempts: number): FinalUpdateResult => {
      this.state = 'finished';
      const r: FinalUpdateResult = { outcome: o, attempts, checksum: this.buffer.checksum(), bytesize: this.buffer.size };
      if (update.failureReason) r.failureReason = update.failureReason;
      return r;
    };
    if (wasStopped) return result('aborted', 0);
    const backoff = new Backoff(FINAL_BACKOFF_MIN_MS, FINAL_BACKOFF_MAX_MS);
    for (let attempt = 1; ; attempt++) {
      const r = (await this.flush(signal)) ? await this.sendFinal(update, attempt, signal) : undefined;
      // 200 means GitLab stored the state, even when its Job-Status (now `failed`/`canceled`) reads as an abort.
      if (r && (r.outcome === 'ok' || r.status === 200)) return result('ok', attempt);
      if (r?.outcome === 'abort') return result('aborted', attempt);
      if (attempt > this.retryLimit) {
        this.logger.error('giving up sending the final job state: GitLab still has the job as running', {
          attempts: attempt,
          state: update.state,
          status: r?.status ?? 0,
          ...(r?.transportError ? { error: r.transportError.message } : {}),
        });
        return result('gave_up', attempt);
      }
      if (r?.outcome === 'trace_invalid') this.sentOffset = 0;
      const retryable = r === undefined || r.outcome === 'failed';
      const wait = retryable ? backoff.fail(this.clock.now()) : this.updateIntervalMs;
      if (r?.outcome === 'failed') this.warnFailed('sending the final job state failed; retrying', r, { attempt, delayMs: wait });
      await this.clock.sleep(wait, signal ? { signal } : {});
    }
  }

  private async sendFinal(update: JobUpdate, attempt: number, signal: AbortSignal | undefined): Promise<UpdateJobResult> {
    const r = await this.api.updateJob(this.job, { ...update, checksum: this.buffer.checksum(), bytesize: this.buffer.size }, signal ? { signal } : {});
    this.setUpdateInterval(r.updateIntervalMs);
    if (r.jobStatus) this.lastJobStatus = r.jobStatus;
    this.logger.debug('final update', { attempt, status: r.status, outcome: r.outcome });
    return r;
  }
}
