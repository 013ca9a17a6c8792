import type { ErrorCode, RunnerError } from '@fleetrunner/common';
import { wrapCloudError } from '@fleetrunner/fleeting';

/** Error codes AWS services use for throttling (the SDKs' list, plus EC2's). */
const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottledException',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'TransactionInProgressException',
  'RequestLimitExceeded',
  'BandwidthLimitExceeded',
  'LimitExceededException',
  'RequestThrottled',
  'SlowDown',
  'PriorRequestNotComplete',
  'EC2ThrottledException',
]);

const TRANSIENT = new Set(['InternalError', 'InternalFailure', 'ServiceUnavailable', 'ServiceException', 'RequestTimeout', 'RequestTimeoutException', 'Unavailable']);
const NETWORK = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED']);

const AUTH = new Set([
  'CredentialsProviderError',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'AuthFailure',
  'SignatureDoesNotMatch',
  'InvalidSignatureException',
  'MissingAuthenticationToken',
  'MissingAuthenticationTokenException',
  'ExpiredToken',
  'ExpiredTokenException',
  'AccessDenied',
  'AccessDeniedException',
  'UnauthorizedOperation',
  'AuthException',
]);

/** What the SDK's errors carry, narrowed from `unknown`. */
export interface AwsErrorShape {
  /** The AWS error code (the SDK puts it in `name`), or the Node network error code. */
  code: string;
  message: string;
  status: number | undefined;
}

/** Reads code, message and HTTP status from anything the SDK throws. */
export function awsErrorShape(err: unknown): AwsErrorShape {
  if (!(err instanceof Error)) return { code: 'Unknown', message: String(err), status: undefined };
  const e = err as Error & { code?: unknown; $metadata?: { httpStatusCode?: unknown } };
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
  const netCode = typeof e.code === 'string' && NETWORK.has(e.code) ? e.code : undefined;
  return { code: netCode ?? e.name, message: err.message, status };
}

/** True for throttling errors. */
export function isThrottling(err: unknown): boolean {
  const s = awsErrorShape(err);
  return THROTTLING.has(s.code) || s.status === 429;
}

/** True for errors worth a few retries besides throttling: 5xx answers, timeouts and dropped connections. */
export function isTransient(err: unknown): boolean {
  const s = awsErrorShape(err);
  return TRANSIENT.has(s.code) || NETWORK.has(s.code) || s.code === 'TimeoutError' || (s.status !== undefined && s.status >= 500);
}

function codeFor(s: AwsErrorShape): ErrorCode {
  if (s.code === 'AbortError') return 'aborted';
  if (AUTH.has(s.code) || s.code.startsWith('AccessDenied')) return 'auth_failed';
  if (THROTTLING.has(s.code) || s.status === 429 || NETWORK.has(s.code) || s.code === 'TimeoutError' || (s.status !== undefined && s.status >= 500)) {
    return 'unavailable';
  }
  if (s.code === 'InvalidInstanceID.NotFound' || s.code === 'EC2InstanceNotFoundException') return 'instance_not_found';
  if (s.status !== undefined && s.status >= 400) return 'invalid_argument';
  return 'plugin_error';
}

/** Wraps an SDK error once, at the boundary: `<context>: <AWS code>: <message>`, with a stable RunnerError code. */
export function wrapAwsError(context: string, err: unknown, attempts = 1): RunnerError {
  return wrapCloudError(context, err, attempts, (e) => {
    const s = awsErrorShape(e);
    const hint = s.code === 'CredentialsProviderError' ? ' (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile, or plugin_config.credentials_file)' : '';
    return { code: codeFor(s), head: s.code, message: `${s.message}${hint}`, details: { awsCode: s.code, ...(s.status ? { httpStatus: s.status } : {}) } };
  });
}
