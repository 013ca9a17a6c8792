/**
 * Token bucket for instance creation: `rate` tokens per second up to `burst`, starting full. Refilled lazily from
 * the clock readings passed in, so it owns no timer.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  /** Whole tokens available at `now`. Infinity when unlimited. */
  available(now: number): number {
    if (!Number.isFinite(this.rate)) return Infinity;
    this.refill(now);
    return Math.floor(this.tokens);
  }

  /** Takes up to `n` tokens; returns how many were taken. */
  take(n: number, now: number): number {
    if (!Number.isFinite(this.rate)) return n;
    this.refill(now);
    const k = Math.max(0, Math.min(n, Math.floor(this.tokens)));
    this.tokens -= k;
    return k;
  }

  /** Milliseconds until one more token is available (0 when one is). */
  msUntilToken(now: number): number {
    if (!Number.isFinite(this.rate)) return 0;
    this.refill(now);
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) * 1000) / this.rate);
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.rate) / 1000);
      this.last = now;
    }
  }
}
