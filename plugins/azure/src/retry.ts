import { retryWithBackoff, type Clock, type Logger } from '@fleetrunner/common';
import { azureErrorShape, isRateLimited, isTransient, wrapAzureError } from './azure-errors.js';

/** How Azure calls are retried. Times are milliseconds. */
export interface RetryPolicy {
  /** Attempts for throttled calls (429); default 8. */
  throttledAttempts: number;
  /** Attempts for transient failures (5xx, dropped connections); default 3. */
  transientAttempts: number;
  /** First back-off; default 250, doubling per attempt. */
  baseDelayMs: number;
  /** Longest back-off; default 8000. A longer Retry-After is honoured up to `maxRetryAfterMs`. */
  maxDelayMs: number;
  /** Longest Retry-After honoured; default 60 000 (ARM's throttling windows are minutes long). */
  maxRetryAfterMs: number;
}

/** The default {@link RetryPolicy}. */
export const DEFAULT_RETRY: RetryPolicy = { throttledAttempts: 8, transientAttempts: 3, baseDelayMs: 250, maxDelayMs: 8000, maxRetryAfterMs: 60_000 };

/**
 * Runs one Azure call through the project's retry loop ({@link retryWithBackoff}: `Backoff` with jitter, or ARM's
 * Retry-After when longer, on `clock`, ended by `signal`): throttling gets `throttledAttempts`, transient errors
 * `transientAttempts`, anything else one. The SDK clients run with `maxRetries: 0`, so this is the one place that
 * decides. The last error is wrapped with `context`.
 */
export function withRetry<T>(
  context: string,
  call: () => Promise<T>,
  options: { policy: RetryPolicy; clock: Clock; logger: Logger; signal?: AbortSignal | undefined; random?: () => number },
): Promise<T> {
  const { policy, logger } = options;
  return retryWithBackoff(call, {
    classify: (err) => {
      const s = azureErrorShape(err);
      return { attempts: isRateLimited(s) ? policy.throttledAttempts : isTransient(s) ? policy.transientAttempts : 1, retryAfterMs: s.retryAfterMs };
    },
    wrap: (err, attempts) => wrapAzureError(context, err, attempts),
    baseDelayMs: policy.baseDelayMs,
    maxDelayMs: policy.maxDelayMs,
    maxRetryAfterMs: policy.maxRetryAfterMs,
    clock: options.clock,
    signal: options.signal,
    ...(options.random ? { random: options.random } : {}),
    onRetry: ({ attempt, delayMs, error }) => {
      const s = azureErrorShape(error);
      logger.debug('retrying azure call', { call: context, attempt, delay_ms: delayMs, error: `${s.status ?? ''} ${s.code}: ${s.message}` });
    },
  });
}
