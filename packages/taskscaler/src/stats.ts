import type { InstanceState } from '@fleetrunner/fleeting';
import type { InstanceCause, InstanceLifecycle, RemovalReason } from './instance.js';
import type { ActivePolicy } from './policy.js';

/**
 * Why the taskscaler scaled (or did not):
 * - up: `demand` (acquires waiting / in use exceed capacity), `idle_target` (keeping idle slots);
 * - down: `idle` (idle past idle_time beyond the target), `max_use_count`, `unhealthy`, `ready_failed`,
 *   `preexisting`, `restored_with_acquisitions`, `broken` (plugin said `timeout`), `shutdown`;
 * - held back: `limit` (max_instances or plugin max size), `throttle` (scale_throttle), `backoff` (after failed
 *   readiness or increase), `steady` (nothing to do).
 */
export type DecisionReason = RemovalReason | 'demand' | 'idle_target' | 'limit' | 'throttle' | 'backoff' | 'steady';

/** One scaling decision with the numbers behind it. */
export interface ScalingDecision {
  /** Epoch ms. */
  at: number;
  action: 'up' | 'down' | 'none';
  /** Instances asked for (up) or marked for removal (down). */
  count: number;
  reason: DecisionReason;
  /** Human sentence, also the log message. */
  detail: string;
  /** Index of the active policy; -1 = built-in default. */
  policy: number;
  acquired: number;
  pending: number;
  reserved: number;
  idleTarget: number;
  /** Free slots on ready instances plus slots of instances on their way. */
  supply: number;
  /** Instances wanted after this decision (every state). */
  desired: number;
  /** Instances known before this decision (every state). */
  instances: number;
  /** Effective instance cap; 0 = none. */
  limit: number;
}

/** The part of a decision its maker knows; the rest is filled in from the current numbers. */
export type DecisionCore = Pick<ScalingDecision, 'action' | 'count' | 'reason' | 'detail'>;

/** Cumulative counters since creation. */
export interface TaskscalerCounters {
  /** `increase` calls and instances asked for / refused. */
  increaseCalls: number;
  instancesRequested: number;
  instancesRequestFailed: number;
  /** Instances marked for removal, and `decrease` calls / ids refused. */
  instancesRemoved: number;
  decreaseCalls: number;
  decreaseRefused: number;
  updates: number;
  missedUpdates: number;
  reserves: number;
  /** `reserve_available_capacity_failure`: nothing ready now, but instances could be created. */
  reserveFailedAvailable: number;
  /** `reserve_iop_capacity_failure`: no capacity even counting instances that could be created. */
  reserveFailedPotential: number;
  acquires: number;
  acquireTimeouts: number;
  releases: number;
  readyFailures: number;
  healthFailures: number;
  unexpectedRemovals: number;
  requestsExpired: number;
}

/** A cumulative histogram in seconds. */
export interface HistogramSnapshot {
  /** Upper bounds (seconds) with cumulative counts; the last bound is +Inf. */
  buckets: { le: number; count: number }[];
  count: number;
  sum: number;
}

/** A point-in-time view for metrics (`fleeting_provisioner_*`, `fleeting_taskscaler_*`). */
export interface TaskscalerStats {
  /** Instances by taskscaler state, plus `requested` (asked for, not yet reported by the plugin). */
  instances: Record<InstanceLifecycle | 'requested', number>;
  /**
   * Slots: `idle` = usable free slots on ready instances not covered by reservations; `reserved` = reservations
   * not yet acquiring; `pending` = acquires waiting for a slot; `acquired`; `unavailable` = free slots that
   * max_use_count closed; `unhealthy` = free slots on unhealthy instances.
   */
  slots: { idle: number; reserved: number; pending: number; acquired: number; unavailable: number; unhealthy: number };
  desiredInstances: number;
  /** Effective cap (min of max_instances and the plugin's max size); 0 = none. */
  maxInstances: number;
  capacityPerInstance: number;
  maxUseCount: number;
  policy: ActivePolicy;
  counters: TaskscalerCounters;
  histograms: {
    /** Asked for → reported running. */
    creationSeconds: HistogramSnapshot;
    /** The same interval in its own buckets (`instance_is_running_time_buckets`). */
    isRunningSeconds: HistogramSnapshot;
    /** Asked for (or first seen) → ready. */
    readinessSeconds: HistogramSnapshot;
    /** Marked for removal → gone from `update`. */
    deletionSeconds: HistogramSnapshot;
    /** First seen → gone. */
    lifeSeconds: HistogramSnapshot;
  };
  lastDecision: ScalingDecision | undefined;
}

/** One known instance. */
export interface InstanceInfo {
  id: string;
  state: InstanceLifecycle;
  pluginState: InstanceState;
  cause: InstanceCause;
  useCount: number;
  acquired: number;
  /** Acquisition key per slot ('' = free). */
  slots: string[];
  createdAt: number;
  readyAt: number | undefined;
  idleSince: number;
  failures: number;
  removalReason: RemovalReason | undefined;
}

/** Default histogram bounds in seconds. */
export const DEFAULT_BUCKETS: readonly number[] = [1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

/** A fixed-bucket histogram. */
export class Histogram {
  private readonly counts: number[];
  private n = 0;
  private total = 0;

  constructor(private readonly bounds: readonly number[] = DEFAULT_BUCKETS) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe(seconds: number): void {
    let i = this.bounds.findIndex((b) => seconds <= b);
    if (i < 0) i = this.bounds.length;
    this.counts[i]!++;
    this.n++;
    this.total += seconds;
  }

  snapshot(): HistogramSnapshot {
    let acc = 0;
    const buckets = this.counts.map((c, i) => {
      acc += c;
      return { le: this.bounds[i] ?? Infinity, count: acc };
    });
    return { buckets, count: this.n, sum: this.total };
  }
}

export function newCounters(): TaskscalerCounters {
  return {
    increaseCalls: 0,
    instancesRequested: 0,
    instancesRequestFailed: 0,
    instancesRemoved: 0,
    decreaseCalls: 0,
    decreaseRefused: 0,
    updates: 0,
    missedUpdates: 0,
    reserves: 0,
    reserveFailedAvailable: 0,
    reserveFailedPotential: 0,
    acquires: 0,
    acquireTimeouts: 0,
    releases: 0,
    readyFailures: 0,
    healthFailures: 0,
    unexpectedRemovals: 0,
    requestsExpired: 0,
  };
}
