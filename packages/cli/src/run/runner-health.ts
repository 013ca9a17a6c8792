import type { Logger } from '@fleetrunner/common';

/**
 * GitLab Runner's health helper for one runner: `unhealthy_requests_limit` consecutive failed job requests (403 or
 * a transport error) make the runner unhealthy; it is then skipped for `unhealthy_interval`, after which it is
 * tried again with a clean slate. A successful request resets the count. Deviation: the skip period starts when
 * the limit is reached (upstream measures it from the last success, which skips nothing for a runner that never
 * succeeded).
 */
export class RunnerHealth {
  private failures = 0;
  private disabledAt: number | undefined;

  constructor(private readonly logger: Logger) {}

  /** False while the runner is skipped. At the end of the skip period it is re-enabled (and logged). */
  isHealthy(now: number, intervalMs: number): boolean {
    if (this.disabledAt === undefined) return true;
    if (now - this.disabledAt < intervalMs) return false;
    this.logger.warn('runner is not healthy, but will be checked');
    this.failures = 0;
    this.disabledAt = undefined;
    return true;
  }

  /** Counts one request outcome. Returns true when this failure just disabled the runner. */
  mark(healthy: boolean, now: number, limit: number): boolean {
    if (healthy) {
      this.failures = 0;
      this.disabledAt = undefined;
      return false;
    }
    this.failures++;
    if (this.failures >= limit && this.disabledAt === undefined) {
      this.disabledAt = now;
      this.logger.error('runner is not healthy and will be disabled', { failures: this.failures });
      return true;
    }
    return false;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }
}

/**
 * Back-off after job requests that failed for a reason other than "no job" (5xx after the client's own retries,
 * timeouts, transport errors): 1 s, doubling to `maxMs`; a successful request resets it.
 */
export class RequestBackoff {
  private streak = 0;
  private until = 0;

  constructor(private readonly maxMs = 60_000) {}

  /** Whether a request may be made now. */
  ready(now: number): boolean {
    return now >= this.until;
  }

  fail(now: number): number {
    this.streak++;
    const delay = Math.min(1000 * 2 ** (this.streak - 1), this.maxMs);
    this.until = now + delay;
    return delay;
  }

  succeed(): void {
    this.streak = 0;
    this.until = 0;
  }
}

/**
 * `request_concurrency` with GitLab Runner's adaptive limit (FF_USE_ADAPTIVE_REQUEST_CONCURRENCY, default on): the
 * limit is multiplied by 1.1 when a request brought a job, 0.95 when it brought none, 0.5 when it needed HTTP
 * retries, and kept within [1, request_concurrency]. It starts at request_concurrency.
 */
export class RequestLimit {
  inflight = 0;
  adaptive: number;

  constructor(
    public max: number,
    public adaptiveOn: boolean,
  ) {
    this.adaptive = max;
  }

  /** The limit in effect. */
  get limit(): number {
    if (!this.adaptiveOn) return this.max;
    return Math.max(1, Math.min(this.max, Math.round(this.adaptive)));
  }

  tryAcquire(): boolean {
    if (this.inflight >= this.limit) return false;
    this.inflight++;
    return true;
  }

  release(): void {
    this.inflight = Math.max(0, this.inflight - 1);
  }

  /** Applies a new `request_concurrency` (config reload). */
  setMax(max: number, adaptiveOn: boolean): void {
    this.max = max;
    this.adaptiveOn = adaptiveOn;
    this.adaptive = Math.min(this.adaptive, max);
  }

  observe(outcome: 'job' | 'empty' | 'retried'): void {
    const f = outcome === 'job' ? 1.1 : outcome === 'empty' ? 0.95 : 0.5;
    this.adaptive = Math.max(1, Math.min(this.max, this.adaptive * f));
  }
}
