import { retryWithBackoff, type Clock, type Logger } from '@fleetrunner/common';
import { isThrottling, isTransient, wrapAwsError } from './aws-errors.js';

/** How AWS calls are retried. Times are milliseconds. */
export interface RetryPolicy {
  /** Attempts for throttled calls; default 8 (about 20 s of backoff in all). */
  throttledAttempts: number;
  /** Attempts for transient failures (5xx, timeouts, dropped connections); default 3. */
  transientAttempts: number;
  /** First backoff; default 200. Doubles per attempt, with jitter. */
  baseDelayMs: number;
  /** Longest backoff; default 5000. */
  maxDelayMs: number;
}

/** The default {@link RetryPolicy}. */
export const DEFAULT_RETRY: RetryPolicy = { throttledAttempts: 8, transientAttempts: 3, baseDelayMs: 200, maxDelayMs: 5000 };

/**
 * Runs one AWS call through the project's retry loop ({@link retryWithBackoff}: `Backoff` with jitter, half the
 * delay fixed, half random, on `clock`, ended by `signal`): throttling gets `throttledAttempts`, transient errors
 * `transientAttempts`, anything else one. Other errors, and the last one, are wrapped with `context`.
 */
export function withRetry<T>(
  context: string,
  call: () => Promise<T>,
  options: { policy: RetryPolicy; clock: Clock; logger: Logger; signal?: AbortSignal | undefined; random?: () => number },
): Promise<T> {
  const { policy, logger } = options;
  return retryWithBackoff(call, {
    classify: (err) => ({ attempts: isThrottling(err) ? policy.throttledAttempts : isTransient(err) ? policy.transientAttempts : 1 }),
    wrap: (err, attempts) => wrapAwsError(context, err, attempts),
    baseDelayMs: policy.baseDelayMs,
    maxDelayMs: policy.maxDelayMs,
    clock: options.clock,
    signal: options.signal,
    ...(options.random ? { random: options.random } : {}),
    onRetry: ({ attempt, delayMs, error }) =>
      logger.debug('retrying AWS call', { call: context, attempt, delay_ms: delayMs, throttled: isThrottling(error), error: error instanceof Error ? error.message : String(error) }),
  });
}
