import type { ErrorCode, RunnerError } from '@fleetrunner/common';
import { wrapCloudError } from '@fleetrunner/fleeting';

/** What the SDK's errors carry, narrowed from `unknown`. */
export interface AzureErrorShape {
  /** HTTP status; undefined for network errors and failed operations. */
  status: number | undefined;
  /** ARM's `error.code` (`ResourceNotFound`, `TooManyRequests`…), a failed operation's code, the network code, else the error name. */
  code: string;
  /** ARM's `error.message`, else the error's message. */
  message: string;
  /** `Retry-After` in milliseconds, when the answer had one. */
  retryAfterMs: number | undefined;
}

const NETWORK = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED', 'ENOTFOUND', 'REQUEST_SEND_ERROR', 'UND_ERR_SOCKET']);
const AUTH_CODES = new Set(['AuthenticationFailed', 'InvalidAuthenticationToken', 'ExpiredAuthenticationToken', 'InvalidAuthenticationTokenTenant', 'AuthorizationFailed', 'LinkedAuthorizationFailed', 'SubscriptionNotFound']);
const QUOTA = /Quota|quota|SkuNotAvailable|ZonalAllocationFailed|AllocationFailed|OverconstrainedAllocationRequest/;
const IDENTITY = new Set(['AuthenticationError', 'CredentialUnavailableError', 'AggregateAuthenticationError']);

function record(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function retryAfter(headers: unknown): number | undefined {
  const h = record(headers);
  const get = h && typeof h.get === 'function' ? (h.get as (k: string) => unknown).bind(headers) : undefined;
  const raw = get ? get('retry-after') : undefined;
  if (typeof raw !== 'string' || raw === '') return undefined;
  if (/^\d+$/.test(raw)) return Number(raw) * 1000;
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/**
 * Reads status, code, message and Retry-After from what the Azure SDKs throw: RestErrors (`statusCode`, `code` =
 * ARM's error code, `details.error.message`; paged calls keep the code but not the message), the plain Error of a
 * failed long-running operation ("The long-running operation has failed. <code>. <message>"), identity errors, and
 * network errors (string codes, no status).
 */
export function azureErrorShape(err: unknown): AzureErrorShape {
  if (!(err instanceof Error)) return { status: undefined, code: 'Unknown', message: String(err), retryAfterMs: undefined };
  const e = err as Error & { code?: unknown; statusCode?: unknown; details?: unknown; response?: { headers?: unknown; status?: unknown } };
  const lro = /^The long-running operation has failed\. ([^.]+)\. ([\s\S]*)$/.exec(err.message);
  if (lro) return { status: undefined, code: lro[1]!, message: lro[2]!, retryAfterMs: undefined };
  const status = typeof e.statusCode === 'number' ? e.statusCode : typeof e.response?.status === 'number' ? e.response.status : undefined;
  const armMessage = record(record(e.details)?.error)?.message;
  const code = typeof e.code === 'string' && e.code !== '' ? e.code : err.name;
  return { status, code: IDENTITY.has(err.name) ? err.name : code, message: typeof armMessage === 'string' ? armMessage : err.message, retryAfterMs: retryAfter(e.response?.headers) };
}

/** Rate limits: 429 (`TooManyRequests`; ARM's throttling). */
export function isRateLimited(s: AzureErrorShape): boolean {
  return s.status === 429;
}

/** Worth a few retries besides rate limits: 5xx answers (not of failed operations), dropped connections, timeouts. */
export function isTransient(s: AzureErrorShape): boolean {
  return (s.status !== undefined && s.status >= 500) || NETWORK.has(s.code) || s.code === 'TimeoutError';
}

/** The RunnerError code of an SDK error. */
export function codeOf(s: AzureErrorShape): ErrorCode {
  if (s.code === 'AbortError') return 'aborted';
  if (isRateLimited(s) || isTransient(s)) return 'unavailable';
  if (IDENTITY.has(s.code) || s.status === 401 || s.status === 403 || AUTH_CODES.has(s.code)) return 'auth_failed';
  if (QUOTA.test(s.code) || (s.code === 'OperationNotAllowed' && /quota/i.test(s.message))) return 'no_capacity';
  if (s.status === 404 || s.code === 'ResourceNotFound' || s.code === 'NotFound' || s.code === 'ResourceGroupNotFound') return 'not_found';
  if (s.status !== undefined && s.status >= 400) return 'invalid_argument';
  return 'plugin_error';
}

/** Wraps an SDK error once, at the boundary: `<context>: <HTTP status> <code>: <message>`, with a stable code. */
export function wrapAzureError(context: string, err: unknown, attempts = 1): RunnerError {
  return wrapCloudError(context, err, attempts, (e) => {
    const s = azureErrorShape(e);
    const head = s.status !== undefined ? `${s.status} ${s.code}` : s.code;
    return { code: codeOf(s), head, message: s.message, details: { azureCode: s.code, ...(s.status ? { httpStatus: s.status } : {}) } };
  });
}
