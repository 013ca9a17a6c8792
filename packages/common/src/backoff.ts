/**
 * Exponential back-off over clock readings passed in (it owns no timer): `baseMs` after the first failure,
 * doubling to at most `maxMs`; one success resets it. Defaults 5 s and 5 min (the taskscaler's scale-up and
 * readiness back-off).
 */
export class Backoff {
  private count = 0;
  private until = 0;

  constructor(
    private readonly baseMs = 5_000,
    private readonly maxMs = 300_000,
  ) {}

  /** Counts one failure at `now`; returns the wait before the next attempt, ms. */
  fail(now: number): number {
    this.count++;
    const wait = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(30, this.count - 1));
    this.until = now + wait;
    return wait;
  }

  succeed(): void {
    this.count = 0;
    this.until = 0;
  }

  /** Consecutive failures since the last success. */
  get failures(): number {
    return this.count;
  }

  /** Milliseconds left to wait at `now`; 0 when the next attempt may proceed. */
  remaining(now: number): number {
    return Math.max(0, this.until - now);
  }
}
