import type { Clock, Logger } from '@fleetrunner/common';
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
 * Runs one AWS call, retrying throttling and transient errors with exponential backoff and jitter (half the delay
 * fixed, half random) on `clock`. The wait ends when `signal` aborts. Other errors, and the last one, are wrapped
 * with `context`.
 */
export async function withRetry<T>(
  context: string,
  call: () => Promise<T>,
  options: { policy: RetryPolicy; clock: Clock; logger: Logger; signal?: AbortSignal | undefined; random?: () => number },
): Promise<T> {
  const { policy, clock, logger, signal } = options;
  const random = options.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const throttled = isThrottling(err);
      const limit = throttled ? policy.throttledAttempts : isTransient(err) ? policy.transientAttempts : 1;
      if (attempt >= limit || signal?.aborted) throw wrapAwsError(context, err, attempt);
      const full = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      const delay = Math.round(full / 2 + (random() * full) / 2);
      logger.debug('retrying AWS call', { call: context, attempt, delay_ms: delay, throttled, error: err instanceof Error ? err.message : String(err) });
      await clock.sleep(delay, signal ? { signal } : {});
    }
  }
}
