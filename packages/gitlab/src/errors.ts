import { RunnerError, type ErrorCode } from '@fleetrunner/common';
import type { JobCredentials } from './job-payload.js';
import { maskText } from './masker.js';

/**
 * A job payload GitLab handed out that this runner cannot use. `field` is the dotted wire path
 * (`steps[1].when`). When the payload still named a job id and token they are on `job`, so the manager can fail
 * that job with a reason and go on polling. Code `invalid_argument`. `problem` may quote a value of the payload;
 * the message masks the job token and every token with one of GitLab's prefixes in it, as it ends up in the
 * manager's log and the job's log.
 */
export class JobPayloadError extends RunnerError {
  readonly field: string;
  /** The job to fail, when the payload said which one. Not enumerable, so loggers do not print the token. */
  declare readonly job: JobCredentials | undefined;

  constructor(field: string, problem: string, job?: JobCredentials) {
    super('invalid_argument', `invalid job payload: ${field}: ${maskText(problem, job?.token ? [job.token] : [])}`, { details: { field, jobId: job?.id } });
    this.name = 'JobPayloadError';
    this.field = field;
    Object.defineProperty(this, 'job', { value: job, enumerable: false });
  }
}

/** The error code a non-success HTTP status maps to. */
export function codeForStatus(status: number): ErrorCode {
  if (status === 401 || status === 403) return 'auth_failed';
  if (status === 404) return 'not_found';
  if (status === 408 || status === 504) return 'timeout';
  if (status === 429 || status >= 500) return 'unavailable';
  return 'invalid_argument';
}

/** A RunnerError for an unexpected HTTP status; `details.status` carries the status code. */
export function statusError(context: string, status: number, message?: string): RunnerError {
  const text = message ? `: ${message}` : '';
  return new RunnerError(codeForStatus(status), `${context}: HTTP ${status}${text}`, { details: { status } });
}
