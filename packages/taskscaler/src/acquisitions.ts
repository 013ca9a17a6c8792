import { RunnerError, abortError, linkSignals, type Timer } from '@fleetrunner/common';
import type { ConnectInfo } from '@fleetrunner/fleeting';
import type { Context } from './context.js';
import { acquireTimeoutError, invalidKey, noCapacity, notRunning } from './errors.js';
import type { InstanceRecord, SlotHolder } from './instance.js';
import type { SavedAcquisition } from './state-store.js';
import type { Acquisition } from './taskscaler.js';

/** What the slot book-keeping needs from the instance lifecycle. */
export interface SlotSupport {
  running(): boolean;
  /** Cached connect info when a slot on `r` can be handed out without waiting (fresh, no health check). */
  ready(r: InstanceRecord): ConnectInfo | undefined;
  /** Connect info (cached or fresh) and, with a heartbeat hook, a health check. Rejects on failure. */
  prepare(r: InstanceRecord, signal: AbortSignal): Promise<ConnectInfo>;
  refreshConnectInfo(r: InstanceRecord, signal: AbortSignal | undefined): Promise<ConnectInfo>;
  /** Counts one failed health check. */
  healthFailure(r: InstanceRecord, err: unknown): void;
  /** An acquisition left `r`: remove it if it is draining or unhealthy and now empty. */
  released(r: InstanceRecord): void;
  /** Describes the fleet for error messages. */
  describe(): string;
}

type EntryState = 'reserved' | 'pending' | 'preparing' | 'acquired' | 'done';

interface Waiter {
  resolve(r: InstanceRecord): void;
  reject(err: unknown): void;
}

class Entry implements SlotHolder {
  state: EntryState = 'reserved';
  instance: InstanceRecord | undefined;
  slot = -1;
  acquiredAt = 0;
  waiter: Waiter | undefined;
  /** Set when the instance is lost; the signal is made on first use (AbortControllers cost microseconds). */
  lostReason: Error | undefined;
  private lossCtl: AbortController | undefined;
  /** Set by release/shutdown before the acquisition completed. */
  cancelled: unknown;
  private cancelCtl: AbortController | undefined;

  constructor(
    readonly key: string,
    private readonly owner: Acquisitions,
  ) {}

  lose(reason: Error): void {
    this.owner.lost(this, reason);
  }

  lossSignal(): AbortSignal {
    if (!this.lossCtl) {
      this.lossCtl = new AbortController();
      if (this.lostReason) this.lossCtl.abort(this.lostReason);
    }
    return this.lossCtl.signal;
  }

  markLost(reason: Error): void {
    this.lostReason = reason;
    this.lossCtl?.abort(reason);
  }

  resetLoss(): void {
    this.lostReason = undefined;
    this.lossCtl = undefined;
  }

  cancelSignal(): AbortSignal {
    if (!this.cancelCtl) {
      this.cancelCtl = new AbortController();
      if (this.cancelled !== undefined) this.cancelCtl.abort(this.cancelled);
    }
    return this.cancelCtl.signal;
  }

  cancel(reason: unknown): void {
    this.cancelled = reason;
    this.cancelCtl?.abort(reason);
  }
}

class Handle implements Acquisition {
  constructor(
    private readonly entry: Entry,
    private readonly instance: InstanceRecord,
    readonly connectInfo: ConnectInfo,
    private readonly owner: Acquisitions,
  ) {}
  get key(): string {
    return this.entry.key;
  }
  get instanceId(): string {
    return this.instance.id;
  }
  get slot(): number {
    return this.entry.slot;
  }
  get signal(): AbortSignal {
    return this.entry.lossSignal();
  }
  refreshConnectInfo(options: { signal?: AbortSignal } = {}): Promise<ConnectInfo> {
    return this.owner.support.refreshConnectInfo(this.instance, options.signal);
  }
  release(): void {
    if (this.owner.entries.get(this.entry.key) === this.entry) this.owner.release(this.entry.key);
  }
}

/**
 * Reservations, waiting acquires and acquisitions by key. Reserve, a ready slot being free, and release are O(1)
 * (O(capacity_per_instance) for the slot scan); waiters are served in arrival order.
 */
export class Acquisitions {
  readonly entries = new Map<string, Entry>();
  /** Waiting acquires in arrival order. */
  private readonly waiters = new Map<Entry, Waiter>();
  reserved = 0;
  pending = 0;

  constructor(
    private readonly ctx: Context,
    readonly support: SlotSupport,
  ) {}

  get waiting(): number {
    return this.waiters.size;
  }

  reserve(key: string): void {
    if (!this.support.running()) throw notRunning();
    if (this.entries.has(key)) throw invalidKey(key, this.entries.get(key)!.state);
    this.ctx.counters.reserves++;
    this.checkCapacity();
    this.entries.set(key, new Entry(key, this));
    this.reserved++;
  }

  private checkCapacity(): void {
    const { fleet, limit, counters } = this.ctx;
    const room = Math.max(0, limit - fleet.total);
    const potential = fleet.supply + fleet.perInstance * room;
    const policy = this.ctx.schedule.active(this.ctx.clock.now());
    if (policy.preemptiveMode) {
      const free = fleet.index.freeSlots - this.reserved - this.pending;
      if (free >= 1) return;
      const kind = this.reserved + this.pending < potential ? 'available' : 'potential';
      if (kind === 'available') counters.reserveFailedAvailable++;
      else counters.reserveFailedPotential++;
      const down = this.ctx.plugin.down;
      throw noCapacity(kind, `no ready idle slot (preemptive mode): ${fleet.index.freeSlots} free, ${this.reserved + this.pending} reserved${down ? `; ${down.message}` : ''}`);
    }
    if (this.reserved + this.pending + 1 <= potential) return;
    counters.reserveFailedPotential++;
    throw noCapacity('potential', `every slot is in use or reserved: ${this.support.describe()}`);
  }

  unreserve(key: string): boolean {
    const e = this.entries.get(key);
    if (!e || e.state !== 'reserved') return false;
    this.finish(e);
    return true;
  }

  async acquire(key: string, signal: AbortSignal | undefined): Promise<Acquisition> {
    let e = this.entries.get(key);
    if (!e) {
      this.reserve(key);
      e = this.entries.get(key)!;
    } else if (e.state !== 'reserved') {
      throw invalidKey(key, e.state);
    }
    if (signal?.aborted) {
      this.finish(e);
      throw abortError(signal);
    }
    this.ctx.counters.acquires++;
    this.reserved--;
    this.pending++;
    e.state = 'pending';
    const deadline = this.ctx.clock.now() + this.ctx.config.instanceAcquireTimeoutMs;
    try {
      for (;;) {
        // While the plugin is down every acquire waits (its deadline still applies) instead of failing on the instance.
        const r = this.waiters.size === 0 && !this.ctx.plugin.down ? this.ctx.fleet.index.pick() : undefined;
        if (r) this.bind(e, r);
        const placed = r ?? (await this.wait(e, deadline, signal));
        const handle = await this.complete(e, placed, signal);
        if (handle) return handle;
      }
    } catch (err) {
      this.finish(e);
      throw err;
    }
  }

  release(key: string): boolean {
    const e = this.entries.get(key);
    if (!e) return false;
    if (e.state !== 'acquired') {
      // A reservation, a waiting acquire or one being handed over: cancel it; the acquire call rejects.
      const reason = new RunnerError('aborted', `acquisition ${key} released before it completed`);
      e.cancel(reason);
      e.waiter?.reject(reason);
      this.finish(e);
      return true;
    }
    const r = e.instance!;
    e.state = 'done';
    this.entries.delete(key);
    this.ctx.counters.releases++;
    this.ctx.fleet.unplace(r, e.slot, true, this.ctx.clock.now());
    this.support.released(r);
    this.serve();
    this.ctx.slotsChanged();
    return true;
  }

  /** Hands free slots to waiters, oldest first. Call whenever slots may have become free. */
  serve(): void {
    if (this.ctx.plugin.down) return;
    for (const [e, w] of this.waiters) {
      const r = this.ctx.fleet.index.pick();
      if (!r) return;
      this.waiters.delete(e);
      e.waiter = undefined;
      this.bind(e, r);
      w.resolve(r);
    }
  }

  /** Fails every waiting acquire and forgets reservations (shutdown). */
  rejectAll(err: Error): void {
    for (const e of [...this.entries.values()]) {
      if (e.state === 'acquired') continue;
      e.cancel(err);
      e.waiter?.reject(err);
      this.finish(e);
    }
  }

  /** Live acquisitions on `r` for the state file. */
  saved(r: InstanceRecord): SavedAcquisition[] {
    const out: SavedAcquisition[] = [];
    r.slots.forEach((h, slot) => {
      if (h instanceof Entry && h.state === 'acquired') out.push({ key: h.key, slot, acquiredAt: h.acquiredAt });
    });
    return out;
  }

  /** `e`'s instance is gone (the fleet already dropped it). */
  lost(e: Entry, reason: Error): void {
    if (e.state === 'acquired') {
      e.state = 'done';
      this.entries.delete(e.key);
      e.instance = undefined;
      e.markLost(reason);
    } else if (e.state === 'preparing') {
      // The hand-over notices and goes back to waiting.
      e.markLost(reason);
    }
  }

  private bind(e: Entry, r: InstanceRecord): void {
    e.slot = this.ctx.fleet.place(r, e);
    e.instance = r;
    e.state = 'preparing';
    this.pending--;
    this.ctx.slotsChanged();
  }

  private unbind(e: Entry): void {
    const r = e.instance;
    e.instance = undefined;
    e.resetLoss();
    if (r && !r.gone) {
      this.ctx.fleet.unplace(r, e.slot, false, this.ctx.clock.now());
      this.support.released(r);
      this.serve();
    }
  }

  private wait(e: Entry, deadline: number, signal: AbortSignal | undefined): Promise<InstanceRecord> {
    const { clock, config, counters } = this.ctx;
    const timeout = (): RunnerError => {
      counters.acquireTimeouts++;
      return acquireTimeoutError(config.instanceAcquireTimeoutMs, this.support.describe());
    };
    const left = deadline - clock.now();
    if (left <= 0) return Promise.reject(timeout());
    return new Promise<InstanceRecord>((resolve, reject) => {
      const cleanup = (): void => {
        timer.clear();
        signal?.removeEventListener('abort', onAbort);
        this.waiters.delete(e);
        e.waiter = undefined;
      };
      const w: Waiter = {
        resolve: (r) => {
          cleanup();
          resolve(r);
        },
        reject: (err) => {
          cleanup();
          reject(err);
        },
      };
      const onAbort = (): void => w.reject(abortError(signal!));
      const timer: Timer = clock.setTimeout(() => w.reject(timeout()), left);
      signal?.addEventListener('abort', onAbort, { once: true });
      e.waiter = w;
      this.waiters.set(e, w);
      this.ctx.kick();
    });
  }

  /** Finishes the hand-over of `r`'s slot; undefined = try again (instance lost or unhealthy). */
  private async complete(e: Entry, r: InstanceRecord, signal: AbortSignal | undefined): Promise<Acquisition | undefined> {
    // Fast path: connect info cached and no health check to run, nothing to wait for.
    const cached = this.support.ready(r);
    if (cached) return this.acquired(e, r, cached);
    const link = linkSignals(signal, e.cancelSignal(), e.lossSignal());
    try {
      const info = await this.support.prepare(r, link.signal);
      if (e.cancelled !== undefined) throw e.cancelled;
      if (signal?.aborted) throw abortError(signal);
      if (r.gone || e.instance !== r || e.lostReason) return this.retry(e);
      return this.acquired(e, r, info);
    } catch (err) {
      if (e.cancelled !== undefined) throw e.cancelled;
      if (signal?.aborted) throw abortError(signal);
      // Lost while being handed over: its slot went with it; wait for another.
      if (r.gone || e.instance !== r || e.lostReason) return this.retry(e);
      if (this.ctx.plugin.failed(err)) {
        // The plugin is restarting: give the slot back and wait (no health failure; serve() holds off meanwhile).
        this.unbind(e);
        return this.retry(e);
      }
      this.unbind(e);
      this.support.healthFailure(r, err);
      return this.retry(e);
    } finally {
      link.dispose();
    }
  }

  private acquired(e: Entry, r: InstanceRecord, info: ConnectInfo): Acquisition {
    e.state = 'acquired';
    e.acquiredAt = this.ctx.clock.now();
    this.ctx.fleet.changed(r);
    return new Handle(e, r, info, this);
  }

  private retry(e: Entry): undefined {
    e.instance = undefined;
    e.resetLoss();
    e.state = 'pending';
    this.pending++;
    return undefined;
  }

  /** Removes `e` whatever its state; idempotent. */
  private finish(e: Entry): void {
    switch (e.state) {
      case 'reserved':
        this.reserved--;
        break;
      case 'pending':
        this.pending--;
        break;
      case 'preparing':
        this.unbind(e);
        break;
      default:
        break;
    }
    e.state = 'done';
    if (this.entries.get(e.key) === e) this.entries.delete(e.key);
  }
}
