import { RunnerError, retryWithBackoff, type Clock, type ErrorCode, type Logger } from '@fleetrunner/common';

/** How a cloud plugin's calls are retried. Times are milliseconds. */
export interface CloudRetryPolicy {
  /** Attempts for throttled (rate-limited) calls. */
  throttledAttempts: number;
  /** Attempts for transient failures (5xx, timeouts, dropped connections). */
  transientAttempts: number;
  /** First back-off; doubles per attempt, with jitter. */
  baseDelayMs: number;
  /** Longest back-off. A longer Retry-After is honoured up to `maxRetryAfterMs`. */
  maxDelayMs: number;
  /** Longest Retry-After honoured; absent: the server's wait is not looked at beyond the back-off. */
  maxRetryAfterMs?: number;
}

/** What a cloud's errors mean to the retry loop. */
export interface CloudErrors {
  /** The cloud's name in the debug log line: `retrying <name> call`. */
  name: string;
  /** Whether `err` is throttling or transient, and the server's wait (Retry-After), if any. */
  classify(err: unknown): { throttled: boolean; transient: boolean; retryAfterMs?: number | undefined };
  /** The error thrown for the last (or a final) failure of the call named `context`. */
  wrap(context: string, err: unknown, attempts: number): unknown;
  /** Log fields of a retried error (at least `error`). */
  describe(err: unknown): Record<string, unknown>;
}

/** What {@link shapedErrors} needs of a cloud whose errors narrow to one shape with the server's wait. */
export interface ErrorShapeReading<S> {
  throttled(s: S): boolean;
  transient(s: S): boolean;
  wrap: CloudErrors['wrap'];
  /** The error in the debug log line of a retry. */
  text(s: S): string;
}

/** {@link CloudErrors} of cloud `name` from `shape`, which narrows an error once; the rest read the shape. */
export function shapedErrors<S extends { retryAfterMs?: number | undefined }>(name: string, shape: (err: unknown) => S, reading: ErrorShapeReading<S>): CloudErrors {
  return {
    name,
    classify: (err) => {
      const s = shape(err);
      return { throttled: reading.throttled(s), transient: reading.transient(s), retryAfterMs: s.retryAfterMs };
    },
    wrap: reading.wrap,
    describe: (err) => ({ error: reading.text(shape(err)) }),
  };
}

/** Options of {@link retryCloudCall}. */
export interface CloudRetryOptions {
  policy: CloudRetryPolicy;
  clock: Clock;
  logger: Logger;
  signal?: AbortSignal | undefined;
  /** Jitter source in [0, 1); default Math.random. */
  random?: () => number;
}

/**
 * Runs one cloud call named `context` through the project's retry loop ({@link retryWithBackoff}: `Backoff` with
 * jitter, or the server's Retry-After when longer, on `clock`, ended by `signal`): throttling gets
 * `throttledAttempts`, transient errors `transientAttempts`, anything else one. The SDK clients' own retries are off
 * or never fire, so this is the one place that decides. The last error is wrapped by `errors.wrap`.
 */
export function retryCloudCall<T>(context: string, call: () => Promise<T>, errors: CloudErrors, options: CloudRetryOptions): Promise<T> {
  const { policy, logger } = options;
  return retryWithBackoff(call, {
    classify: (err) => {
      const kind = errors.classify(err);
      return { attempts: kind.throttled ? policy.throttledAttempts : kind.transient ? policy.transientAttempts : 1, retryAfterMs: kind.retryAfterMs };
    },
    wrap: (err, attempts) => errors.wrap(context, err, attempts),
    baseDelayMs: policy.baseDelayMs,
    maxDelayMs: policy.maxDelayMs,
    ...(policy.maxRetryAfterMs !== undefined ? { maxRetryAfterMs: policy.maxRetryAfterMs } : {}),
    clock: options.clock,
    signal: options.signal,
    ...(options.random ? { random: options.random } : {}),
    onRetry: ({ attempt, delayMs, error }) => logger.debug(`retrying ${errors.name} call`, { call: context, attempt, delay_ms: delayMs, ...errors.describe(error) }),
  });
}

/** What {@link wrapCloudError} says of an SDK error. */
export interface CloudErrorText {
  code: ErrorCode;
  /** The status part, e.g. `429 TooManyRequests`. */
  head: string;
  message: string;
  details: Record<string, unknown>;
}

/**
 * Wraps a cloud SDK error once, at the boundary: `<context>: <head>: <message>`, plus `(after N attempts)` when it
 * was retried, with a stable code. A RunnerError (already wrapped) only gets `context` in front.
 */
export function wrapCloudError(context: string, err: unknown, attempts: number, text: (err: unknown) => CloudErrorText): RunnerError {
  if (err instanceof RunnerError) return RunnerError.wrap(context, err);
  const d = text(err);
  const tries = attempts > 1 ? ` (after ${attempts} attempts)` : '';
  return new RunnerError(d.code, `${context}: ${d.head}: ${d.message}${tries}`, { cause: err, details: d.details });
}
