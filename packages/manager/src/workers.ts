import { abortError } from '@fleetrunner/common';

/**
 * The `concurrent` worker slots: a worker holds a slot from the moment it takes a runner until its job request
 * and, when a job came, the whole job are over (GitLab Runner's worker pool). Waiters are served in FIFO order;
 * the limit changes live on config reload.
 */
export class Workers {
  private active = 0;
  private readonly waiters: (() => void)[] = [];
  private readonly idleWaiters: (() => void)[] = [];

  constructor(private max: number) {}

  get limit(): number {
    return this.max;
  }

  get busy(): number {
    return this.active;
  }

  setLimit(n: number): void {
    this.max = Math.max(1, n);
    this.wake();
  }

  /** Takes a slot if one is free now. */
  tryAcquire(): boolean {
    if (this.active >= this.max || this.waiters.length > 0) return false;
    this.active++;
    return true;
  }

  /** Waits for a free slot; rejects when `signal` aborts. */
  acquire(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(abortError(signal));
    if (this.tryAcquire()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const grant = (): void => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        const i = this.waiters.indexOf(grant);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(abortError(signal));
      };
      this.waiters.push(grant);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  release(): void {
    this.active = Math.max(0, this.active - 1);
    this.wake();
  }

  /** Resolves when no slot is held. */
  idle(): Promise<void> {
    if (this.active === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private wake(): void {
    while (this.active < this.max && this.waiters.length > 0) {
      this.active++;
      this.waiters.shift()!();
    }
    if (this.active === 0) for (const w of this.idleWaiters.splice(0)) w();
  }
}
