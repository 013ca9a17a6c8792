import { retryCloudCall, shapedErrors, type CloudRetryOptions, type CloudRetryPolicy } from '@fleetrunner/fleeting';
import { gceErrorShape, isRateLimited, isTransient, wrapGceError } from './gce-errors.js';

/** How Compute Engine calls are retried ({@link CloudRetryPolicy}). */
export type RetryPolicy = CloudRetryPolicy;

/** The default {@link RetryPolicy}: 8 attempts when rate-limited (429, 403 rateLimitExceeded), 3 when transient, 250 ms doubling up to 8 s, a Retry-After honoured up to 30 s. */
export const DEFAULT_RETRY: RetryPolicy = { throttledAttempts: 8, transientAttempts: 3, baseDelayMs: 250, maxDelayMs: 8000, maxRetryAfterMs: 30_000 };

const GCE_ERRORS = shapedErrors('compute', gceErrorShape, { throttled: isRateLimited, transient: isTransient, wrap: wrapGceError, text: (s) => `${s.status ?? ''} ${s.reason}: ${s.message}` });

/**
 * Runs one Compute Engine call through the cloud plugins' retry loop ({@link retryCloudCall}). The SDK's own retries
 * never fire for these (its errors carry HTTP statuses, its retry codes are gRPC ones), so this is the one place
 * that decides.
 */
export function withRetry<T>(context: string, call: () => Promise<T>, options: CloudRetryOptions): Promise<T> {
  return retryCloudCall(context, call, GCE_ERRORS, options);
}
