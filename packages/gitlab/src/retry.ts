/** Attempts of one request (the first plus retries) before the last response is returned as is. */
export const DEFAULT_MAX_ATTEMPTS = 5;
/** Exponential backoff bounds when the server gives no hint, ms. */
export const BACKOFF_MIN_MS = 100;
export const BACKOFF_MAX_MS = 60_000;
/** Longest server-requested wait honoured, ms (a bogus header must not park a request for days). */
export const MAX_SERVER_WAIT_MS = 60 * 60 * 1000;

/** True for the statuses GitLab Runner retries: 408, 429, 500, 502, 503, 504 and ≥ 512. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status === 500 || status === 502 || status === 503 || status === 504 || status >= 512;
}

/**
 * The wait the server asked for, ms, or undefined: `RateLimit-ResetTime` (an HTTP date) first, then
 * `Retry-After` (delta seconds, or an HTTP date). Past dates and unparsable values count as no hint.
 */
export function serverRetryDelay(
  headers: { get(name: string): string | null },
  nowMs: number,
): { delayMs: number; source: 'ratelimit-resettime' | 'retry-after' } | undefined {
  const reset = headers.get('ratelimit-resettime');
  if (reset) {
    const at = Date.parse(reset);
    if (Number.isFinite(at) && at > nowMs) return { delayMs: Math.min(at - nowMs, MAX_SERVER_WAIT_MS), source: 'ratelimit-resettime' };
  }
  const after = headers.get('retry-after')?.trim();
  if (after) {
    const at = /^\d+$/.test(after) ? nowMs + Number(after) * 1000 : Date.parse(after);
    if (Number.isFinite(at) && at > nowMs) return { delayMs: Math.min(at - nowMs, MAX_SERVER_WAIT_MS), source: 'retry-after' };
  }
  return undefined;
}

/**
 * Exponential backoff with jitter for retry `n` (0-based): uniform in [min, min·2ⁿ] capped at max, as
 * jpillora/backoff computes it for GitLab Runner.
 */
export function backoffDelay(n: number, random: () => number, minMs = BACKOFF_MIN_MS, maxMs = BACKOFF_MAX_MS): number {
  const base = Math.min(maxMs, minMs * 2 ** n);
  return Math.round(minMs + random() * (base - minMs));
}
