import { Backoff, type Clock, type Logger } from '@fleetrunner/common';
import { gceErrorShape, isRateLimited, isTransient, wrapGceError } from './gce-errors.js';

/** How Compute Engine calls are retried. Times are milliseconds. */
export interface RetryPolicy {
  /** Attempts for rate-limited calls (429, 403 rateLimitExceeded); default 8. */
  throttledAttempts: number;
  /** Attempts for transient failures (5xx, dropped connections); default 3. */
  transientAttempts: number;
  /** First back-off; default 250, doubling per attempt. */
  baseDelayMs: number;
  /** Longest back-off; default 8000. A longer Retry-After is honoured up to `maxRetryAfterMs`. */
  maxDelayMs: number;
  /** Longest Retry-After honoured; default 30 000. */
  maxRetryAfterMs: number;
}

/** The default {@link RetryPolicy}. */
export const DEFAULT_RETRY: RetryPolicy = { throttledAttempts: 8, transientAttempts: 3, baseDelayMs: 250, maxDelayMs: 8000, maxRetryAfterMs: 30_000 };

/**
 * Runs one Compute Engine call, retrying rate limits and transient errors on `clock`: the wait is the project's
 * {@link Backoff} (doubling from `baseDelayMs` to `maxDelayMs`) with jitter (half fixed, half random), or the
 * server's Retry-After when that is longer. The SDK's own retries never fire for these (its errors carry HTTP
 * statuses, its retry codes are gRPC ones), so this is the one place that decides. The wait ends when `signal`
 * aborts. Other errors, and the last one, are wrapped with `context`.
 */
export async function withRetry<T>(
  context: string,
  call: () => Promise<T>,
  options: { policy: RetryPolicy; clock: Clock; logger: Logger; signal?: AbortSignal | undefined; random?: () => number },
): Promise<T> {
  const { policy, clock, logger, signal } = options;
  const random = options.random ?? Math.random;
  const backoff = new Backoff(policy.baseDelayMs, policy.maxDelayMs);
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const s = gceErrorShape(err);
      const throttled = isRateLimited(s);
      const limit = throttled ? policy.throttledAttempts : isTransient(s) ? policy.transientAttempts : 1;
      if (attempt >= limit || signal?.aborted) throw wrapGceError(context, err, attempt);
      const full = backoff.fail(clock.now());
      const jittered = Math.round(full / 2 + (random() * full) / 2);
      const delay = Math.max(jittered, Math.min(s.retryAfterMs ?? 0, policy.maxRetryAfterMs));
      logger.debug('retrying compute call', { call: context, attempt, delay_ms: delay, throttled, error: `${s.status ?? ''} ${s.reason}: ${s.message}` });
      await clock.sleep(delay, signal ? { signal } : {});
    }
  }
}
