import type { ConnectInfo, InstanceState } from '@fleetrunner/fleeting';

/**
 * Where an instance is in the taskscaler's own lifecycle (the plugin's view is `pluginState`):
 * - `creating`: reported by the plugin, not yet running;
 * - `readying`: running; connect info and the readiness hook are in progress;
 * - `ready`: takes work;
 * - `draining`: used up (max_use_count), finishing its acquisitions, then removed;
 * - `unhealthy`: failed `failure_threshold` health checks (or the plugin reported `timeout`), finishing its
 *   acquisitions, then removed;
 * - `removing`: `decrease` issued or about to be;
 * - `deleting`: the plugin reports it deleting.
 */
export type InstanceLifecycle = 'creating' | 'readying' | 'ready' | 'draining' | 'unhealthy' | 'removing' | 'deleting';

export const INSTANCE_LIFECYCLES: readonly InstanceLifecycle[] = ['creating', 'readying', 'ready', 'draining', 'unhealthy', 'removing', 'deleting'];

/**
 * Why the taskscaler knows an instance: it asked for it, it showed up later on its own, it was re-adopted from
 * saved state, or it was already in the group at start without saved state (and is removed).
 */
export type InstanceCause = 'requested' | 'appeared' | 'restored' | 'preexisting';

/** What occupies a slot: an acquisition (see acquisitions.ts). */
export interface SlotHolder {
  readonly key: string;
  /** The instance is gone: abort the acquisition with `reason`. */
  lose(reason: Error): void;
}

/** Why an instance is being removed. */
export type RemovalReason = 'idle' | 'max_use_count' | 'unhealthy' | 'ready_failed' | 'preexisting' | 'restored_with_acquisitions' | 'broken' | 'shutdown';

export interface Removal {
  reason: RemovalReason;
  since: number;
  /** Last `decrease` attempt (ms); -Infinity = not yet tried. */
  attemptAt: number;
}

/** Everything the taskscaler tracks for one instance. Mutated only through `Fleet`. */
export class InstanceRecord {
  state: InstanceLifecycle = 'creating';
  pluginState: InstanceState = 'creating';
  /** Holder per slot number; undefined = free. */
  readonly slots: (SlotHolder | undefined)[];
  acquired = 0;
  useCount = 0;
  readyAt: number | undefined;
  /** When it last became fully idle (or ready). */
  idleSince = 0;
  connectInfo: ConnectInfo | undefined;
  failures = 0;
  lastHeartbeatAt = Number.NEGATIVE_INFINITY;
  heartbeatRunning = false;
  /** A health check failed (below the threshold): no new work until a check succeeds. */
  suspect = false;
  removal: Removal | undefined;
  /** Dropped from the fleet. */
  gone = false;
  /** Stamp of the last `update` that listed it. */
  seen = 0;

  /** Intrusive list links (slot index). */
  prev: InstanceRecord | undefined;
  next: InstanceRecord | undefined;
  list: InstanceList | undefined;
  /** Usable free slots counted in the index for this instance. */
  indexed = 0;
  /** Free slots this instance adds to the fleet's `unavailable` and `unhealthy` totals (stats). */
  unavailableFree = 0;
  unhealthyFree = 0;
  /** Position in the state image (state storage); -1 = not in it. */
  imagePos = -1;

  constructor(
    readonly id: string,
    readonly cause: InstanceCause,
    capacity: number,
    /** When it was asked for (requested) or first seen. */
    readonly createdAt: number,
  ) {
    this.slots = new Array<SlotHolder | undefined>(capacity).fill(undefined);
  }
}

/** A doubly linked list threaded through the records: O(1) push-front, remove, head and tail. */
export class InstanceList {
  head: InstanceRecord | undefined;
  tail: InstanceRecord | undefined;
  size = 0;

  pushFront(r: InstanceRecord): void {
    r.list = this;
    r.prev = undefined;
    r.next = this.head;
    if (this.head) this.head.prev = r;
    else this.tail = r;
    this.head = r;
    this.size++;
  }

  remove(r: InstanceRecord): void {
    if (r.list !== this) return;
    if (r.prev) r.prev.next = r.next;
    else this.head = r.next;
    if (r.next) r.next.prev = r.prev;
    else this.tail = r.prev;
    r.prev = r.next = r.list = undefined;
    this.size--;
  }
}
