import { InstanceList, type InstanceRecord } from './instance.js';

/**
 * Ready instances with usable free slots, kept so that picking a slot is O(capacity_per_instance) — O(1) in
 * the number of instances — and idle expiry visits only the instances it removes.
 *
 * Placement prefers partly used instances with the fewest free slots (packing work leaves whole instances
 * idle, so they can be scaled down), then the most recently idled instance (so the longest-idle ones age out).
 * Fully idle instances sit in one list ordered by the time they became idle: head newest, tail oldest.
 */
export class SlotIndex {
  /** partial[k]: instances with acquisitions and k usable free slots. */
  private readonly partial: InstanceList[];
  /** Fully idle ready instances, head = most recently idle. */
  readonly idle = new InstanceList();
  /** Sum of usable free slots over indexed instances. */
  freeSlots = 0;

  constructor(capacity: number) {
    this.partial = Array.from({ length: capacity + 1 }, () => new InstanceList());
  }

  /** Files `r` under `usable` free slots (0 = not indexed). */
  set(r: InstanceRecord, usable: number): void {
    const target = usable <= 0 ? undefined : r.acquired === 0 ? this.idle : this.partial[usable];
    if (r.list === target && r.indexed === usable) return;
    this.remove(r);
    if (!target) return;
    target.pushFront(r);
    r.indexed = usable;
    this.freeSlots += usable;
  }

  remove(r: InstanceRecord): void {
    if (!r.list) return;
    r.list.remove(r);
    this.freeSlots -= r.indexed;
    r.indexed = 0;
  }

  /** The instance the next slot should come from, or undefined when none is free. */
  pick(): InstanceRecord | undefined {
    for (let k = 1; k < this.partial.length; k++) {
      const head = this.partial[k]!.head;
      if (head) return head;
    }
    return this.idle.head;
  }
}
