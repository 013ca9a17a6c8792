import { RunnerError } from '@fleetrunner/common';

/** Update interval the server may ask for is capped at 15 minutes, ms. */
export const MAX_UPDATE_INTERVAL_MS = 15 * 60 * 1000;

/** How a `PUT jobs/:id` ended, in GitLab Runner's terms. */
export type UpdateOutcome =
  /** 200: accepted. */
  | 'ok'
  /** 202: accepted, GitLab is still finalising the trace; send again after the interval. */
  | 'accepted'
  /** 412: trace checksum mismatch; resend the whole trace from 0, then the update. */
  | 'trace_invalid'
  /** 403, 404, `Job-Status: canceled|failed`: stop working on the job. */
  | 'abort'
  /** Any other status, or no response at all (`transportError`): retry with backoff. */
  | 'failed';

/** How a `PATCH jobs/:id/trace` ended. */
export type PatchOutcome = 'ok' | 'range_mismatch' | 'not_found' | 'abort' | 'failed';

/** What the server said about the job in a PUT or PATCH response. */
export interface RemoteJobState {
  /** HTTP status; 0 when the request did not get a response. */
  status: number;
  /** `Job-Status` header (`running`, `canceling`, `canceled`, `failed`, …), or ''. */
  jobStatus: string;
  /** `Job-Status: canceling`: stop the user script gracefully; after_script, cache and artifacts still run. */
  cancelRequested: boolean;
  /** `X-GitLab-Trace-Update-Interval`, ms, capped at 15 minutes; absent when not sent or unparsable. */
  updateIntervalMs?: number;
  /** The transport failed (no response). */
  transportError?: RunnerError;
}

/** Result of {@link GitLabClient.updateJob}. */
export interface UpdateJobResult extends RemoteJobState {
  outcome: UpdateOutcome;
}

/** Result of {@link GitLabClient.patchTrace}. */
export interface PatchTraceResult extends RemoteJobState {
  outcome: PatchOutcome;
  /** The offset to send from next: the end of this patch on success, the server's length on 416. */
  sentOffset: number;
}

/** Reads `Job-Status` and `X-GitLab-Trace-Update-Interval` from a response. */
export function remoteJobState(res: Response): RemoteJobState {
  const jobStatus = res.headers.get('job-status') ?? '';
  const state: RemoteJobState = { status: res.status, jobStatus, cancelRequested: jobStatus === 'canceling' };
  const raw = res.headers.get('x-gitlab-trace-update-interval');
  if (raw !== null && /^\s*-?\d+\s*$/.test(raw)) {
    const s = Number(raw);
    if (s > 0) state.updateIntervalMs = Math.min(s * 1000, MAX_UPDATE_INTERVAL_MS);
  }
  return state;
}

/** `Job-Status: canceled|failed` or HTTP 403: the job is over on GitLab's side. */
export function isAborted(state: RemoteJobState): boolean {
  return state.jobStatus === 'canceled' || state.jobStatus === 'failed' || state.status === 403;
}
