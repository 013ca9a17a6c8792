import { RunnerError } from '@fleetrunner/common';
import { defaultConnectorConfig, type InitSettings } from '@fleetrunner/fleeting';
import { compilePolicies, type CompiledPolicy, type PolicyConfig } from './policy.js';
import { DEFAULT_BUCKETS } from './stats.js';

const MINUTE = 60_000;

/**
 * Taskscaler settings (`[runners.autoscaler]`). Every field is optional; 0 or absent keeps the documented
 * default. Durations are milliseconds.
 */
export interface TaskscalerConfig {
  /** Slots (concurrent jobs) per instance. Default 1 (0 → 1). */
  capacityPerInstance?: number;
  /** Jobs an instance may run before it is drained and deleted. 0 = unlimited (default). */
  maxUseCount?: number;
  /** Cap on instances in every state (requested, creating, running, draining, removing, deleting). 0 = none. */
  maxInstances?: number;
  /** Longest wait in `acquire` for a slot on a ready instance. Default 15 min (≤ 0 → default). */
  instanceAcquireTimeoutMs?: number;
  /** Plugin `update` period in steady state. Default 60 s. */
  updateIntervalMs?: number;
  /** Plugin `update` period while a change is expected (creating, deleting, waiting acquires). Default 2 s. */
  updateIntervalWhenExpectingMs?: number;
  /** Wait before re-issuing a `decrease` that had no effect. Default 60 s. */
  deletionRetryIntervalMs?: number;
  /** Poll period while deleting instances at shutdown. Default 10 s. */
  shutdownDeletionIntervalMs?: number;
  /** Polls to confirm deletion at shutdown. Default 3. */
  shutdownDeletionRetries?: number;
  /** Consecutive health failures before an instance is marked unhealthy and replaced. Default 3. */
  failureThreshold?: number;
  /** Period of the heartbeat hook on ready instances. Default 5 min. */
  heartbeatIntervalMs?: number;
  /** Reservations never count as demand and never hold instances (see README). Default true. */
  reservationThrottling?: boolean;
  /** Delete every instance in `shutdown()`. Default false. */
  deleteInstancesOnShutdown?: boolean;
  /** Instance-creation token bucket. */
  scaleThrottle?: {
    /** Instances per second; 0 → 100; -1 = unlimited. */
    limit?: number;
    /** Bucket size; 0 → `maxInstances`, or `limit` when `maxInstances` is 0. */
    burst?: number;
  };
  /** Persisted instance state. ON by default (unlike upstream); needs `dir` unless a store is injected. */
  stateStorage?: {
    /** Default true. */
    enabled?: boolean;
    /** Directory of the state file (`instances.json`); created with mode 0700. */
    dir?: string;
    /** Keep a restored instance that still had acquisitions (they are released either way). Default false. */
    keepInstanceWithAcquisitions?: boolean;
    /** At most one save per this many ms (shutdown always saves). Default 1000; negative = after every change. */
    minSaveIntervalMs?: number;
  };
  /** Initial policy list (see `configureSchedule`). Default: none → idle_count 0. */
  policies?: readonly PolicyConfig[];
  /** Handed to `group.init`. Default: empty plugin config, default connector config. */
  instanceGroup?: InitSettings;
  /** Deadline of `group.init`. Default 60 s. */
  initTimeoutMs?: number;
  /** Deadline of every other plugin call (update, increase, decrease, connectInfo). Default 60 s. */
  pluginCallTimeoutMs?: number;
  /** Outstanding `increase` requests not seen in `update` within this time are forgotten. Default 10 min. */
  requestTimeoutMs?: number;
  /** Concurrent readiness hooks / heartbeat hooks. Default 16 each. */
  hookConcurrency?: number;
  /** Histogram upper bounds in seconds (`instance_*_buckets`); default {@link DEFAULT_BUCKETS} each. */
  histogramBuckets?: Partial<Record<HistogramName, readonly number[]>>;
}

/** The histograms in `stats().histograms`. */
export type HistogramName = 'creationSeconds' | 'isRunningSeconds' | 'readinessSeconds' | 'deletionSeconds' | 'lifeSeconds';

/** {@link TaskscalerConfig} with every default applied and checked. */
export interface ResolvedConfig {
  capacityPerInstance: number;
  maxUseCount: number;
  maxInstances: number;
  instanceAcquireTimeoutMs: number;
  updateIntervalMs: number;
  updateIntervalWhenExpectingMs: number;
  deletionRetryIntervalMs: number;
  shutdownDeletionIntervalMs: number;
  shutdownDeletionRetries: number;
  failureThreshold: number;
  heartbeatIntervalMs: number;
  reservationThrottling: boolean;
  deleteInstancesOnShutdown: boolean;
  /** Instances per second; Infinity = unlimited. */
  throttleLimit: number;
  throttleBurst: number;
  stateStorage: { enabled: boolean; dir: string | undefined; keepInstanceWithAcquisitions: boolean; minSaveIntervalMs: number };
  policies: CompiledPolicy[];
  instanceGroup: InitSettings;
  initTimeoutMs: number;
  pluginCallTimeoutMs: number;
  requestTimeoutMs: number;
  hookConcurrency: number;
  histogramBuckets: Record<HistogramName, readonly number[]>;
}

function count(path: string, v: number | undefined, dflt: number, min = 0): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < min) throw invalid(path, `must be an integer ≥ ${min}, got ${v}`);
  return v === 0 ? dflt : v;
}

function duration(path: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isFinite(v)) throw invalid(path, `must be a finite number of milliseconds, got ${v}`);
  return v <= 0 ? dflt : v;
}

function buckets(path: string, v: readonly number[] | undefined): readonly number[] {
  if (v === undefined || v.length === 0) return DEFAULT_BUCKETS;
  if (!v.every((b, i) => Number.isFinite(b) && b > 0 && (i === 0 || b > v[i - 1]!))) throw invalid(path, 'must be increasing positive numbers of seconds');
  return [...v];
}

function saveInterval(v: number | undefined): number {
  if (v === undefined || v === 0) return 1_000;
  if (!Number.isFinite(v)) throw invalid('state_storage.min_save_interval', `must be a finite number of milliseconds, got ${v}`);
  return Math.max(0, v);
}

function invalid(path: string, msg: string): RunnerError {
  return new RunnerError('invalid_argument', `${path}: ${msg}`, { details: { path } });
}

/** Applies defaults and validates; throws `invalid_argument` naming the field. */
export function resolveConfig(c: TaskscalerConfig): ResolvedConfig {
  const maxInstances = count('max_instances', c.maxInstances, 0);
  const rawLimit = c.scaleThrottle?.limit ?? 0;
  if (!Number.isInteger(rawLimit) || rawLimit < -1) throw invalid('scale_throttle.limit', `must be -1, 0 or a positive integer, got ${rawLimit}`);
  const throttleLimit = rawLimit === -1 ? Infinity : rawLimit === 0 ? 100 : rawLimit;
  const burst = count('scale_throttle.burst', c.scaleThrottle?.burst, 0);
  return {
    capacityPerInstance: count('capacity_per_instance', c.capacityPerInstance, 1),
    maxUseCount: count('max_use_count', c.maxUseCount, 0),
    maxInstances,
    instanceAcquireTimeoutMs: duration('instance_acquire_timeout', c.instanceAcquireTimeoutMs, 15 * MINUTE),
    updateIntervalMs: duration('update_interval', c.updateIntervalMs, MINUTE),
    updateIntervalWhenExpectingMs: duration('update_interval_when_expecting', c.updateIntervalWhenExpectingMs, 2_000),
    deletionRetryIntervalMs: duration('deletion_retry_interval', c.deletionRetryIntervalMs, MINUTE),
    shutdownDeletionIntervalMs: duration('shutdown_deletion_interval', c.shutdownDeletionIntervalMs, 10_000),
    shutdownDeletionRetries: count('shutdown_deletion_retries', c.shutdownDeletionRetries, 3),
    failureThreshold: count('failure_threshold', c.failureThreshold, 3),
    heartbeatIntervalMs: duration('heartbeat_interval', c.heartbeatIntervalMs, 5 * MINUTE),
    reservationThrottling: c.reservationThrottling ?? true,
    deleteInstancesOnShutdown: c.deleteInstancesOnShutdown ?? false,
    throttleLimit,
    throttleBurst: burst > 0 ? burst : maxInstances > 0 ? maxInstances : Number.isFinite(throttleLimit) ? throttleLimit : 1,
    stateStorage: {
      enabled: c.stateStorage?.enabled ?? true,
      dir: c.stateStorage?.dir,
      keepInstanceWithAcquisitions: c.stateStorage?.keepInstanceWithAcquisitions ?? false,
      minSaveIntervalMs: saveInterval(c.stateStorage?.minSaveIntervalMs),
    },
    policies: compilePolicies(c.policies ?? []),
    instanceGroup: c.instanceGroup ?? { pluginConfig: {}, connector: defaultConnectorConfig() },
    initTimeoutMs: duration('init_timeout', c.initTimeoutMs, MINUTE),
    pluginCallTimeoutMs: duration('plugin_call_timeout', c.pluginCallTimeoutMs, MINUTE),
    requestTimeoutMs: duration('request_timeout', c.requestTimeoutMs, 10 * MINUTE),
    hookConcurrency: count('hook_concurrency', c.hookConcurrency, 16),
    histogramBuckets: {
      creationSeconds: buckets('instance_creation_time_buckets', c.histogramBuckets?.creationSeconds),
      isRunningSeconds: buckets('instance_is_running_time_buckets', c.histogramBuckets?.isRunningSeconds),
      readinessSeconds: buckets('instance_readiness_time_buckets', c.histogramBuckets?.readinessSeconds),
      deletionSeconds: buckets('instance_deletion_time_buckets', c.histogramBuckets?.deletionSeconds),
      lifeSeconds: buckets('instance_life_duration_buckets', c.histogramBuckets?.lifeSeconds),
    },
  };
}
