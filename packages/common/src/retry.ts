import { Backoff } from './backoff.js';
import type { Clock } from './clock.js';

/** What a failed attempt allows: how many attempts its kind of error gets in all, and the server's wait, if any. */
export interface RetryVerdict {
  /** Attempts in all for this kind of error (1 = final). */
  attempts: number;
  /** A wait the server asked for (Retry-After), ms; the longer of it and the back-off is taken. */
  retryAfterMs?: number | undefined;
}

/** Options of {@link retryWithBackoff}. Times are milliseconds. */
export interface RetryOptions {
  /** Judges each failure. */
  classify(err: unknown): RetryVerdict;
  /** The error thrown for the last (or a final) failure, given the attempts made. */
  wrap(err: unknown, attempts: number): unknown;
  /** First back-off; doubles per attempt up to `maxDelayMs` ({@link Backoff}). */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Longest server wait honoured; default `Infinity`. */
  maxRetryAfterMs?: number;
  clock: Clock;
  signal?: AbortSignal | undefined;
  /** Jitter source in [0, 1); default Math.random. The wait is half the back-off plus a random half. */
  random?: () => number;
  /** Told about each retry before its wait. */
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
}

/**
 * Runs `call`, retrying failures that {@link RetryOptions.classify} allows more attempts for, with the project's
 * {@link Backoff} plus jitter (or a longer server wait) on the injected clock; the wait ends when `signal` aborts.
 * The cloud plugins' one retry loop: each says what its errors mean, this decides when to try again.
 */
export async function retryWithBackoff<T>(call: () => Promise<T>, options: RetryOptions): Promise<T> {
  const { clock, signal } = options;
  const random = options.random ?? Math.random;
  const backoff = new Backoff(options.baseDelayMs, options.maxDelayMs);
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const verdict = options.classify(err);
      if (attempt >= verdict.attempts || signal?.aborted) throw options.wrap(err, attempt);
      const full = backoff.fail(clock.now());
      const jittered = Math.round(full / 2 + (random() * full) / 2);
      const delayMs = Math.max(jittered, Math.min(verdict.retryAfterMs ?? 0, options.maxRetryAfterMs ?? Infinity));
      options.onRetry?.({ attempt, delayMs, error: err });
      await clock.sleep(delayMs, signal ? { signal } : {});
    }
  }
}
