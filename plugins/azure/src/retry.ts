import { retryCloudCall, shapedErrors, type CloudRetryOptions, type CloudRetryPolicy } from '@fleetrunner/fleeting';
import { azureErrorShape, isRateLimited, isTransient, wrapAzureError } from './azure-errors.js';

/** How Azure calls are retried ({@link CloudRetryPolicy}). */
export type RetryPolicy = CloudRetryPolicy;

/**
 * The default {@link RetryPolicy}: 8 attempts when throttled (429), 3 when transient, 250 ms doubling up to 8 s, a
 * Retry-After honoured up to 60 s (ARM's throttling windows are minutes long).
 */
export const DEFAULT_RETRY: RetryPolicy = { throttledAttempts: 8, transientAttempts: 3, baseDelayMs: 250, maxDelayMs: 8000, maxRetryAfterMs: 60_000 };

const AZURE_ERRORS = shapedErrors('azure', azureErrorShape, { throttled: isRateLimited, transient: isTransient, wrap: wrapAzureError, text: (s) => `${s.status ?? ''} ${s.code}: ${s.message}` });

/**
 * Runs one Azure call through the cloud plugins' retry loop ({@link retryCloudCall}, ARM's Retry-After when longer
 * than the back-off). The SDK clients run with `maxRetries: 0`, so this is the one place that decides.
 */
export function withRetry<T>(context: string, call: () => Promise<T>, options: CloudRetryOptions): Promise<T> {
  return retryCloudCall(context, call, AZURE_ERRORS, options);
}
