import { RunnerError, abortError } from '@fleetrunner/common';

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** What is awaited, for the timeout message ("instance local-1 running"). */
  what: string;
  /** Default 10 000 ms. */
  timeoutMs?: number;
  /** Poll interval; default 20 ms. */
  intervalMs?: number;
  signal?: AbortSignal;
}

/**
 * Polls `predicate` until it returns a truthy value and resolves with it. Only for waiting on things outside the
 * test's control (other processes, the kernel); in-process events should be awaited directly. Rejects with a
 * `timeout` RunnerError naming `what` (and the predicate's last error, if it threw) when `timeoutMs` passes.
 */
export async function waitFor<T>(predicate: () => T | Promise<T>, options: WaitForOptions): Promise<NonNullable<T>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await predicate();
      if (v) return v as NonNullable<T>;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? `; last error: ${lastError.message}` : '';
      throw new RunnerError('timeout', `timed out after ${timeoutMs} ms waiting for ${options.what}${why}`, { cause: lastError });
    }
    await pause(options.intervalMs ?? 20, options.signal);
  }
}

/** A timer that keeps the process alive (a test waiting on another process must not end early), cleared on abort. */
export function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
