import { retryCloudCall, type CloudErrors, type CloudRetryOptions, type CloudRetryPolicy } from '@fleetrunner/fleeting';
import { isThrottling, isTransient, wrapAwsError } from './aws-errors.js';

/** How AWS calls are retried ({@link CloudRetryPolicy}; no Retry-After). */
export type RetryPolicy = CloudRetryPolicy;

/** The default {@link RetryPolicy}: 8 attempts when throttled (about 20 s of backoff in all), 3 when transient, 200 ms doubling up to 5 s. */
export const DEFAULT_RETRY: RetryPolicy = { throttledAttempts: 8, transientAttempts: 3, baseDelayMs: 200, maxDelayMs: 5000 };

const AWS_ERRORS: CloudErrors = {
  name: 'AWS',
  classify: (err) => ({ throttled: isThrottling(err), transient: isTransient(err) }),
  wrap: wrapAwsError,
  describe: (err) => ({ throttled: isThrottling(err), error: err instanceof Error ? err.message : String(err) }),
};

/**
 * Runs one AWS call through the cloud plugins' retry loop ({@link retryCloudCall}): throttling gets
 * `throttledAttempts`, transient errors `transientAttempts`, anything else one. Other errors, and the last one, are
 * wrapped with `context`.
 */
export function withRetry<T>(context: string, call: () => Promise<T>, options: CloudRetryOptions): Promise<T> {
  return retryCloudCall(context, call, AWS_ERRORS, options);
}
