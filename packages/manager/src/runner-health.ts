import { Backoff, type Logger } from '@fleetrunner/common';

/** First wait between probes of an unhealthy runner, and the cap of that wait, ms. */
const PROBE_MIN_MS = 1_000;
const PROBE_MAX_MS = 60_000;

/** Why a job request counts against the runner's health. */
export type HealthFailure =
  /** No answer: a transport error or a timeout (GitLab is down or unreachable). */
  | 'unreachable'
  /** GitLab answered 403: the token is not (or no longer) valid. */
  | 'forbidden';

/**
 * GitLab Runner's health helper for one runner, keeping its keys: `unhealthy_requests_limit` consecutive failed
 * job requests (403, a transport error or a timeout) make the runner unhealthy. Upstream then skips the runner
 * for `unhealthy_interval` (60 min by default), so a 20 s GitLab outage cost an hour of no jobs. Here a runner
 * made unhealthy by an unreachable GitLab keeps probing it with its job request at a low rate — 1 s after the
 * limit was reached, the wait doubling to at most 60 s (and never more than `unhealthy_interval`) — and is
 * healthy again on the first request that gets an answer. A 403 is an answer, and asking again soon gets the same
 * one: after a 403 the next probe waits the whole `unhealthy_interval`, as upstream (counted from that 403). A
 * successful request resets the count.
 */
export class RunnerHealth {
  private failures = 0;
  private unhealthy = false;
  private probes = 0;
  private nextProbeAt = 0;
  private readonly probeBackoff = new Backoff(PROBE_MIN_MS, PROBE_MAX_MS);

  constructor(private readonly logger: Logger) {}

  /** True while the runner is unhealthy (its requests are probes). */
  get isUnhealthy(): boolean {
    return this.unhealthy;
  }

  /**
   * Whether a job request may go out now: always while healthy; while unhealthy, one probe per probe wait. An
   * admitted probe schedules the next one at once, so a pick that ends before its request still paces them.
   */
  admit(now: number, unhealthyIntervalMs: number): boolean {
    if (!this.unhealthy) return true;
    if (now < this.nextProbeAt) return false;
    this.probes++;
    this.nextProbeAt = now + this.probeWait(now, unhealthyIntervalMs);
    this.logger.debug('runner is not healthy: probing GitLab with a job request', { probe: this.probes, failures: this.failures });
    return true;
  }

  /** Counts one request outcome (`healthy`: GitLab answered). Returns true when this failure made the runner unhealthy. */
  mark(healthy: boolean, now: number, limit: number, unhealthyIntervalMs = PROBE_MAX_MS, failure: HealthFailure = 'unreachable'): boolean {
    if (healthy) {
      if (this.unhealthy) this.logger.info('runner is healthy again: GitLab answered', { failures: this.failures, probes: this.probes });
      this.failures = 0;
      this.unhealthy = false;
      this.probes = 0;
      return false;
    }
    this.failures++;
    const became = !this.unhealthy && this.failures >= limit;
    if (became) {
      this.unhealthy = true;
      this.probes = 0;
      this.probeBackoff.succeed();
      this.nextProbeAt = now + this.probeWait(now, unhealthyIntervalMs);
    }
    if (this.unhealthy && failure === 'forbidden') this.nextProbeAt = Math.max(this.nextProbeAt, now + unhealthyIntervalMs);
    if (became) {
      this.logger.error('runner is not healthy and will be disabled', {
        failures: this.failures,
        cause: failure,
        nextRequestInMs: this.nextProbeAt - now,
        ...(failure === 'unreachable' ? { note: 'GitLab is probed with a job request at a low rate; the runner is healthy again on its first answer' } : {}),
      });
    }
    return became;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }

  /** The project's back-off, capped by `unhealthy_interval` (it may change on reload). */
  private probeWait(now: number, unhealthyIntervalMs: number): number {
    return Math.min(this.probeBackoff.fail(now), Math.max(PROBE_MIN_MS, unhealthyIntervalMs));
  }
}

/**
 * The back-off of a runner's job requests that failed for a reason other than "no job" (5xx after the client's own
 * retries, timeouts, transport errors): 1 s, doubling to 60 s; a successful request resets it.
 */
export function requestBackoff(): Backoff {
  return new Backoff(1_000, 60_000);
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
