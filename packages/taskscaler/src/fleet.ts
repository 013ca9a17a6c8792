import { INSTANCE_LIFECYCLES, InstanceRecord, type InstanceCause, type InstanceLifecycle, type SlotHolder } from './instance.js';
import { SlotIndex } from './slot-index.js';
import { StateImage } from './state-image.js';

/**
 * The set of instances with O(1) counts by state, the free-slot index, the removal queue, the heartbeat queue,
 * the slot totals of stats and the outstanding `increase` requests. Every state change goes through here so
 * that the counts and indexes stay exact without scanning the fleet (`audit.ts` recounts them in tests).
 */
export class Fleet {
  readonly byId = new Map<string, InstanceRecord>();
  readonly index: SlotIndex;
  readonly counts: Record<InstanceLifecycle, number>;
  /** Instances in state `removing` (waiting for, or retrying, `decrease`). */
  readonly removals = new Set<InstanceRecord>();
  /**
   * Ready and draining instances, oldest health check first: a check that succeeds moves its instance to the end,
   * so the ones due are at the front.
   */
  readonly heartbeatQueue = new Set<InstanceRecord>();
  /** Ready instances whose last health check failed below the threshold: checked again at every cycle. */
  readonly suspects = new Set<InstanceRecord>();
  /** Free slots of ready instances that max_use_count keeps from use, plus every free slot of draining ones. */
  unavailableSlots = 0;
  /** Free slots of suspect ready instances and of unhealthy ones. */
  unhealthySlots = 0;
  /** The state file's content, kept per instance (state storage on). */
  readonly image: StateImage;
  /** Called when something the state file holds changed (schedules a save). */
  onDirty: () => void = () => {};
  /** Acquisitions over all instances. */
  acquired = 0;
  /** Instances asked for with `increase` and not yet seen in `update`. */
  requested = 0;
  private readonly requests: { at: number; n: number }[] = [];

  constructor(
    readonly capacity: number,
    readonly maxUseCount: number,
    persisted = false,
  ) {
    this.image = new StateImage(persisted);
    this.index = new SlotIndex(capacity);
    this.counts = Object.fromEntries(INSTANCE_LIFECYCLES.map((s) => [s, 0])) as Record<InstanceLifecycle, number>;
  }

  /** Slots a fresh instance provides: capacity, or fewer when max_use_count is lower. */
  get perInstance(): number {
    return this.maxUseCount > 0 ? Math.min(this.capacity, this.maxUseCount) : this.capacity;
  }

  /** Instances in every state, requested ones included: what max_instances caps. */
  get total(): number {
    return this.byId.size + this.requested;
  }

  /** Instances that take or will take new work. */
  get accepting(): number {
    const c = this.counts;
    return this.requested + c.creating + c.readying + c.ready;
  }

  /** Free slots now (ready instances) plus the slots of instances on their way. */
  get supply(): number {
    const c = this.counts;
    return this.index.freeSlots + this.perInstance * (this.requested + c.creating + c.readying);
  }

  /** Free slots `r` could take now if it is ready. */
  usable(r: InstanceRecord): number {
    if (r.suspect) return 0;
    let free = this.capacity - r.acquired;
    if (this.maxUseCount > 0) free = Math.min(free, this.maxUseCount - r.useCount - r.acquired);
    return Math.max(0, free);
  }

  add(id: string, cause: InstanceCause, createdAt: number): InstanceRecord {
    const r = new InstanceRecord(id, cause, this.capacity, createdAt);
    this.byId.set(id, r);
    this.counts.creating++;
    this.image.add(r);
    this.onDirty();
    return r;
  }

  /** Something of `r` that the state file holds changed (use count, readiness, removal, acquisitions). */
  changed(r: InstanceRecord): void {
    this.image.touch(r);
    this.onDirty();
  }

  setState(r: InstanceRecord, state: InstanceLifecycle): void {
    if (r.gone) return;
    if (r.state !== state) {
      this.counts[r.state]--;
      this.counts[state]++;
      if (r.state === 'removing') this.removals.delete(r);
      if (state === 'removing') this.removals.add(r);
      if (state === 'ready' || state === 'draining') {
        if (r.state !== 'ready' && r.state !== 'draining') this.heartbeatQueue.add(r);
      } else {
        this.heartbeatQueue.delete(r);
      }
      r.state = state;
    }
    this.reindex(r);
  }

  /** A health check of `r` succeeded at `r.lastHeartbeatAt` (now): it goes to the end of the heartbeat queue. */
  checked(r: InstanceRecord): void {
    if (!this.heartbeatQueue.delete(r)) return;
    this.heartbeatQueue.add(r);
  }

  /** Files `r` in the slot index and the stats totals after a change of its state, slots or health. */
  reindex(r: InstanceRecord): void {
    if (r.state === 'ready') this.index.set(r, this.usable(r));
    else this.index.remove(r);
    if (r.state === 'ready' && r.suspect) this.suspects.add(r);
    else this.suspects.delete(r);
    let unavailable = 0;
    let unhealthy = 0;
    const free = this.capacity - r.acquired;
    if (r.state === 'ready') {
      if (r.suspect) unhealthy = free;
      else unavailable = free - this.usable(r);
    } else if (r.state === 'draining') {
      unavailable = free;
    } else if (r.state === 'unhealthy') {
      unhealthy = free;
    }
    this.unavailableSlots += unavailable - r.unavailableFree;
    this.unhealthySlots += unhealthy - r.unhealthyFree;
    r.unavailableFree = unavailable;
    r.unhealthyFree = unhealthy;
  }

  drop(r: InstanceRecord): void {
    if (r.gone) return;
    this.index.remove(r);
    this.removals.delete(r);
    this.heartbeatQueue.delete(r);
    this.suspects.delete(r);
    this.unavailableSlots -= r.unavailableFree;
    this.unhealthySlots -= r.unhealthyFree;
    r.unavailableFree = r.unhealthyFree = 0;
    this.counts[r.state]--;
    this.byId.delete(r.id);
    this.acquired -= r.acquired;
    r.gone = true;
    this.image.remove(r);
    this.onDirty();
  }

  /** Frees every slot of `r` without counting uses; returns the holders so they can be told. */
  evict(r: InstanceRecord): SlotHolder[] {
    const holders: SlotHolder[] = [];
    r.slots.forEach((h, i) => {
      if (!h) return;
      holders.push(h);
      r.slots[i] = undefined;
    });
    this.acquired -= r.acquired;
    r.acquired = 0;
    this.reindex(r);
    if (holders.length > 0) this.changed(r);
    return holders;
  }

  /** Puts `holder` on the lowest free slot of ready instance `r`; returns the slot number. */
  place(r: InstanceRecord, holder: SlotHolder): number {
    const slot = r.slots.indexOf(undefined);
    if (slot < 0 || r.state !== 'ready') throw new Error(`instance ${r.id} has no free slot`);
    r.slots[slot] = holder;
    r.acquired++;
    this.acquired++;
    if (this.maxUseCount > 0 && r.useCount + r.acquired >= this.maxUseCount) this.setState(r, 'draining');
    else this.reindex(r);
    return slot;
  }

  /** Frees `slot`; `countUse` adds one to the use count (a finished job, not a failed hand-over). */
  unplace(r: InstanceRecord, slot: number, countUse: boolean, now: number): void {
    if (r.gone || r.slots[slot] === undefined) return;
    r.slots[slot] = undefined;
    r.acquired--;
    this.acquired--;
    if (countUse) r.useCount++;
    if (r.acquired === 0) r.idleSince = now;
    this.changed(r);
    // A hand-over that failed gives back the use it had booked.
    if (r.state === 'draining' && (this.maxUseCount === 0 || r.useCount + r.acquired < this.maxUseCount)) this.setState(r, 'ready');
    else this.reindex(r);
  }

  /** Records `n` instances asked for at `now`. */
  request(n: number, now: number): void {
    if (n <= 0) return;
    this.requests.push({ at: now, n });
    this.requested += n;
  }

  /** Matches one newly seen instance with the oldest outstanding request; returns its time, if any. */
  fulfil(): number | undefined {
    const head = this.requests[0];
    if (!head) return undefined;
    if (--head.n === 0) this.requests.shift();
    this.requested--;
    return head.at;
  }

  /** Takes back the newest `n` requested instances (an `increase` that fell short). */
  unrequest(n: number): void {
    while (n > 0 && this.requests.length > 0) {
      const last = this.requests[this.requests.length - 1]!;
      const k = Math.min(n, last.n);
      last.n -= k;
      n -= k;
      this.requested -= k;
      if (last.n === 0) this.requests.pop();
    }
  }

  /** Forgets requests older than `timeoutMs`; returns how many instances were forgotten. */
  expireRequests(now: number, timeoutMs: number): number {
    let n = 0;
    while (this.requests.length > 0 && this.requests[0]!.at + timeoutMs <= now) n += this.requests.shift()!.n;
    this.requested -= n;
    return n;
  }
}
