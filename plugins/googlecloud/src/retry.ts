import { retryWithBackoff, type Clock, type Logger } from '@fleetrunner/common';
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
 * Runs one Compute Engine call through the project's retry loop ({@link retryWithBackoff}: `Backoff` with jitter,
 * or the server's Retry-After when longer, on `clock`, ended by `signal`): rate limits get `throttledAttempts`,
 * transient errors `transientAttempts`, anything else one. The SDK's own retries never fire for these (its errors
 * carry HTTP statuses, its retry codes are gRPC ones), so this is the one place that decides. The last error is
 * wrapped with `context`.
 */
export function withRetry<T>(
  context: string,
  call: () => Promise<T>,
  options: { policy: RetryPolicy; clock: Clock; logger: Logger; signal?: AbortSignal | undefined; random?: () => number },
): Promise<T> {
  const { policy, logger } = options;
  return retryWithBackoff(call, {
    classify: (err) => {
      const s = gceErrorShape(err);
      return { attempts: isRateLimited(s) ? policy.throttledAttempts : isTransient(s) ? policy.transientAttempts : 1, retryAfterMs: s.retryAfterMs };
    },
    wrap: (err, attempts) => wrapGceError(context, err, attempts),
    baseDelayMs: policy.baseDelayMs,
    maxDelayMs: policy.maxDelayMs,
    maxRetryAfterMs: policy.maxRetryAfterMs,
    clock: options.clock,
    signal: options.signal,
    ...(options.random ? { random: options.random } : {}),
    onRetry: ({ attempt, delayMs, error }) => {
      const s = gceErrorShape(error);
      logger.debug('retrying compute call', { call: context, attempt, delay_ms: delayMs, error: `${s.status ?? ''} ${s.reason}: ${s.message}` });
    },
  });
}
