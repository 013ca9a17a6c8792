import { RunnerError, toRunnerError, type Clock, type Logger } from '@fleetrunner/common';
import { GitLabClient, errorLine, isRetryableStatus, type RunnerInfo } from '@fleetrunner/gitlab';
import type { InflightJob, InflightJobs } from './inflight-jobs.js';

/** The note written to an abandoned job's log. */
export const ORPHAN_NOTE =
  'The runner manager that ran this job stopped without finishing it (it was killed or crashed) and has restarted. ' +
  'A job cannot be resumed after a restart; its instance was released or removed. Retry the job.';

/** What failing abandoned jobs needs. */
export interface OrphanOptions {
  info: RunnerInfo;
  logger: Logger;
  clock: Clock;
  /** Attempts per job before it is left for the next start. Default 3. */
  attempts?: number;
  /** Wait between attempts, ms. Default 5000. */
  retryDelayMs?: number;
  signal?: AbortSignal;
}

/**
 * Fails one abandoned job: `running` (acknowledges a job that was taken but not yet confirmed), a note appended to
 * its log at the offset GitLab reports, then `failed` with `runner_system_failure`. Resolves to `gone` when GitLab
 * refuses (the job already finished or was canceled). Rejects on transport errors.
 */
export async function failOrphan(job: InflightJob, o: Pick<OrphanOptions, 'info' | 'logger' | 'signal'>): Promise<'failed' | 'gone'> {
  const client = new GitLabClient({ url: job.url, token: 'orphan-cleanup', info: o.info, logger: o.logger });
  const creds = { id: job.id, token: job.token };
  const call = o.signal ? { signal: o.signal } : {};
  const touch = await client.updateJob(creds, { state: 'running' }, call);
  if (touch.transportError) throw touch.transportError;
  if (touch.outcome === 'abort') return 'gone';
  const note = Buffer.from('\n' + errorLine(ORPHAN_NOTE));
  let patch = await client.patchTrace(creds, note, 0, call);
  if (patch.outcome === 'range_mismatch') patch = await client.patchTrace(creds, note, patch.sentOffset, call);
  const done = await client.updateJob(creds, { state: 'failed', failureReason: 'runner_system_failure' }, call);
  if (done.transportError) throw done.transportError;
  // A 5xx (after the client's retries) is not GitLab refusing the job: keep it for another attempt.
  if (isRetryableStatus(done.status)) throw new RunnerError('unavailable', `failing job ${job.id}: HTTP ${done.status}`, { details: { status: done.status } });
  return done.status === 200 ? 'failed' : 'gone';
}

/**
 * Fails the jobs `store` loaded from a previous run, one after another, removing each from the store once GitLab
 * answered. A job GitLab cannot be reached for is retried `attempts` times, then left on disk for the next start.
 * Returns how many jobs were failed.
 */
export async function failOrphans(store: InflightJobs, jobs: readonly InflightJob[], o: OrphanOptions): Promise<number> {
  if (jobs.length === 0) return 0;
  o.logger.warn('failing jobs abandoned by a previous run of the manager', { jobs: jobs.map((j) => j.id) });
  let failed = 0;
  for (const job of jobs) {
    for (let attempt = 1; ; attempt++) {
      try {
        const r = await failOrphan(job, o);
        if (r === 'failed') failed++;
        o.logger.info(r === 'failed' ? 'abandoned job failed (runner_system_failure)' : 'abandoned job had already finished', { job: job.id });
        await store.remove(job.id);
        break;
      } catch (err) {
        if (o.signal?.aborted) return failed;
        o.logger.warn('failing an abandoned job', { job: job.id, attempt, error: toRunnerError(err).message });
        if (attempt >= (o.attempts ?? 3)) break;
        await o.clock.sleep(o.retryDelayMs ?? 5000, o.signal ? { signal: o.signal } : {}).catch(() => undefined);
      }
    }
  }
  return failed;
}
