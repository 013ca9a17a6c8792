/** A timer handle returned by {@link Clock.setTimeout}; `clear()` is idempotent. */
export interface Timer {
  clear(): void;
}

/**
 * Time as a dependency. Packages that schedule work (taskscaler, fleeting, executor) take a Clock so tests can
 * drive time by hand. All values are milliseconds since the Unix epoch / milliseconds of delay.
 */
export interface Clock {
  now(): number;
  /** Runs `fn` after `ms` milliseconds unless cleared. Real timers are `unref()`ed. */
  setTimeout(fn: () => void, ms: number): Timer;
  /** Resolves after `ms`, or rejects with the signal's reason when it aborts first. Keeps the process alive while pending. */
  sleep(ms: number, options?: { signal?: AbortSignal }): Promise<void>;
}

/** The wall clock. Timers it creates do not keep the process alive. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref();
    return { clear: () => clearTimeout(t) };
  },
  sleep(ms, options = {}) {
    // An awaited sleep keeps the process alive (unlike background timers): whoever awaits it expects to resume.
    return sleepWith(refClock, ms, options.signal);
  },
};

const refClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, Math.max(0, ms));
    return { clear: () => clearTimeout(t) };
  },
  sleep: (ms, options = {}) => systemClock.sleep(ms, options),
};

function sleepWith(clock: Clock, ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    const onAbort = (): void => {
      timer.clear();
      reject(abortReason(signal!));
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('aborted', 'AbortError');
}

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
  cleared: boolean;
}

/**
 * A manual clock for tests: time moves only through {@link FakeClock.advance} / {@link FakeClock.set}.
 * Timers due at the same instant fire in the order they were created.
 */
export class FakeClock implements Clock {
  private current: number;
  private seq = 0;
  private pending: Pending[] = [];

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const entry: Pending = { at: this.current + Math.max(0, ms), seq: this.seq++, fn, cleared: false };
    this.pending.push(entry);
    return {
      clear: () => {
        entry.cleared = true;
      },
    };
  }

  sleep(ms: number, options: { signal?: AbortSignal } = {}): Promise<void> {
    return sleepWith(this, ms, options.signal);
  }

  /** Number of live timers: handy to assert that a component cleaned up after itself. */
  get pendingTimers(): number {
    return this.pending.filter((p) => !p.cleared).length;
  }

  /** Moves time forward by `ms`, firing due timers in order; awaits microtasks between timers. */
  async advance(ms: number): Promise<void> {
    await this.set(this.current + ms);
  }

  /** Moves time to `to` (never backwards), firing due timers in order. */
  async set(to: number): Promise<void> {
    for (;;) {
      await flushMicrotasks();
      const next = this.nextDue(to);
      if (!next) break;
      this.current = Math.max(this.current, next.at);
      next.cleared = true;
      next.fn();
    }
    this.current = Math.max(this.current, to);
    this.pending = this.pending.filter((p) => !p.cleared);
    await flushMicrotasks();
  }

  private nextDue(limit: number): Pending | undefined {
    let best: Pending | undefined;
    for (const p of this.pending) {
      if (p.cleared || p.at > limit) continue;
      if (!best || p.at < best.at || (p.at === best.at && p.seq < best.seq)) best = p;
    }
    return best;
  }
}

/** Lets pending promise callbacks run (several turns, as chains of awaits need). */
export async function flushMicrotasks(turns = 10): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((r) => setImmediate(r));
}
