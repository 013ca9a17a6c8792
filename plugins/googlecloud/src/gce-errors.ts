import type { ErrorCode, RunnerError } from '@fleetrunner/common';
import { wrapCloudError } from '@fleetrunner/fleeting';

/** What the SDK's errors carry, narrowed from `unknown`. */
export interface GceErrorShape {
  /** HTTP status; undefined for network errors. */
  status: number | undefined;
  /** `errors[0].reason` of GCE's error body (`notFound`, `rateLimitExceeded`…), else the network code, else the error name. */
  reason: string;
  /** `error.message` of the body, else the error's message. */
  message: string;
  /** `Retry-After` in milliseconds, when the answer had one. */
  retryAfterMs: number | undefined;
}

const NETWORK = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED', 'ENOTFOUND', 'UND_ERR_SOCKET']);
const RATE_LIMIT = new Set(['rateLimitExceeded', 'userRateLimitExceeded', 'RESOURCE_EXHAUSTED']);
const QUOTA = new Set(['quotaExceeded', 'QUOTA_EXCEEDED', 'limitExceeded']);

function record(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** GCE's JSON error body `{"error":{"code","message","errors":[{"reason"}],"status"}}` from a string, if it is one. */
function errorBody(text: string): { message?: string; reason?: string; status?: string } | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  const e = record(record(v)?.error);
  if (!e) return undefined;
  const first = Array.isArray(e.errors) ? record(e.errors[0]) : undefined;
  return {
    ...(typeof e.message === 'string' ? { message: e.message } : {}),
    ...(typeof first?.reason === 'string' ? { reason: first.reason } : {}),
    ...(typeof e.status === 'string' ? { status: e.status } : {}),
  };
}

function retryAfter(headers: unknown): number | undefined {
  const h = headers as { get?: (k: string) => unknown } | Record<string, unknown> | undefined;
  const raw = typeof h?.get === 'function' ? (h as { get: (k: string) => unknown }).get('retry-after') : (h as Record<string, unknown> | undefined)?.['retry-after'];
  if (typeof raw !== 'string' || raw === '') return undefined;
  if (/^\d+$/.test(raw)) return Number(raw) * 1000;
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/**
 * Reads status, reason, message and Retry-After from what the compute SDK throws. HTTP errors are GaxiosErrors
 * whose `code`/`status` is the HTTP status (a number) and whose message is the raw JSON body; network errors carry
 * string codes.
 */
export function gceErrorShape(err: unknown): GceErrorShape {
  if (!(err instanceof Error)) return { status: undefined, reason: 'Unknown', message: String(err), retryAfterMs: undefined };
  const e = err as Error & { code?: unknown; status?: unknown; response?: { status?: unknown; headers?: unknown } };
  const status = typeof e.response?.status === 'number' ? e.response.status : typeof e.status === 'number' ? e.status : typeof e.code === 'number' && e.code >= 100 ? e.code : undefined;
  const body = errorBody(err.message);
  const net = typeof e.code === 'string' ? e.code : undefined;
  return {
    status,
    reason: body?.reason ?? body?.status ?? net ?? err.name,
    message: body?.message ?? err.message,
    retryAfterMs: retryAfter(e.response?.headers),
  };
}

/** Rate limits: 429, and the 403 `rateLimitExceeded`/`userRateLimitExceeded` GCE sometimes sends. */
export function isRateLimited(s: GceErrorShape): boolean {
  return s.status === 429 || (s.status === 403 && RATE_LIMIT.has(s.reason));
}

/** Worth a few retries besides rate limits: 5xx answers, dropped connections and timeouts. */
export function isTransient(s: GceErrorShape): boolean {
  return (s.status !== undefined && s.status >= 500) || NETWORK.has(s.reason) || s.reason === 'TimeoutError' || s.reason === 'ETIMEDOUT';
}

/** The RunnerError code of an SDK error. */
export function codeOf(s: GceErrorShape): ErrorCode {
  if (s.reason === 'AbortError') return 'aborted';
  if (isRateLimited(s) || isTransient(s)) return 'unavailable';
  if (QUOTA.has(s.reason)) return 'no_capacity';
  if (s.status === 401 || s.status === 403) return 'auth_failed';
  if (s.status === 404) return 'not_found';
  if (s.status !== undefined && s.status >= 400) return 'invalid_argument';
  return 'plugin_error';
}

/** Wraps an SDK error once, at the boundary: `<context>: <HTTP status> <reason>: <message>`, with a stable code. */
export function wrapGceError(context: string, err: unknown, attempts = 1): RunnerError {
  return wrapCloudError(context, err, attempts, (e) => {
    const s = gceErrorShape(e);
    const head = s.status !== undefined ? `${s.status} ${s.reason}` : s.reason;
    return { code: codeOf(s), head, message: s.message, details: { reason: s.reason, ...(s.status ? { httpStatus: s.status } : {}) } };
  });
}
