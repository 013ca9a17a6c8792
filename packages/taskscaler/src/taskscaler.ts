import type { Clock, Logger } from '@fleetrunner/common';
import type { ConnectInfo, ProviderInfo } from '@fleetrunner/fleeting';
import type { PolicyConfig } from './policy.js';
import type { StateStore } from './state-store.js';
import type { ScalingDecision, TaskscalerStats, InstanceInfo } from './stats.js';

/** Lifecycle of a taskscaler: `running` after creation, `stopping` during `shutdown()`, then `stopped`. */
export type TaskscalerState = 'running' | 'stopping' | 'stopped';

/**
 * A slot on a ready instance, bound to one key from `acquire` until `release`.
 */
export interface Acquisition {
  /** The key given to `reserve` / `acquire`. */
  readonly key: string;
  /** Plugin instance id. */
  readonly instanceId: string;
  /** Slot number on the instance, 0..capacity_per_instance-1; stable while the acquisition lives. */
  readonly slot: number;
  /**
   * How to reach the instance, as of the acquisition. Served from a per-instance in-memory cache filled at
   * readiness and refreshed at acquisition when its `expiresAt` is within 60 s; never persisted.
   */
  readonly connectInfo: ConnectInfo;
  /**
   * Fires when the instance is lost (vanished, deleted outside the taskscaler, deleted at shutdown). The reason
   * is a RunnerError with code `instance_not_found` (lost) or `aborted` (shutdown). Not fired by `release`.
   */
  readonly signal: AbortSignal;
  /** Asks the plugin for fresh connect info (for a new connection once credentials expire). */
  refreshConnectInfo(options?: { signal?: AbortSignal }): Promise<ConnectInfo>;
  /** Same as `taskscaler.release(key)`. */
  release(): void;
}

/** An instance handed to the readiness and heartbeat hooks. */
export interface HookInstance {
  id: string;
  connectInfo: ConnectInfo;
  /** True when the instance was re-adopted from saved state after a restart. */
  restored: boolean;
}

/** Callbacks into the composition root. Hooks must honour `signal` (aborted at shutdown). */
export interface TaskscalerHooks {
  /**
   * Runs once for every instance that the plugin reports `running`, before it takes work (used for
   * `instance_ready_command` and nesting clean-up). A rejection removes the instance and backs off scale-up.
   */
  instanceReady?(instance: HookInstance, options: { signal: AbortSignal }): Promise<void>;
  /**
   * Health probe: runs before a slot is handed out and every `heartbeatIntervalMs` on ready instances.
   * `failureThreshold` consecutive rejections mark the instance unhealthy; it is then replaced.
   */
  heartbeat?(instance: HookInstance, options: { signal: AbortSignal }): Promise<void>;
  /** Called with every scaling decision (also logged). Must not throw. */
  onDecision?(decision: ScalingDecision): void;
}

/** Dependencies of {@link createTaskscaler}. */
export interface TaskscalerDeps {
  /** Default: the system clock. */
  clock?: Clock;
  /** Default: a logger that drops everything. A `component: taskscaler` child is made from it. */
  logger?: Logger;
  hooks?: TaskscalerHooks;
  /** Overrides `stateStorage.dir` with another store (tests, other back ends). */
  stateStore?: StateStore;
  /** Aborts creation (init, state load, first update). */
  signal?: AbortSignal;
}

/**
 * Capacity for one runner: reserves, acquires and releases job slots on instances of an `InstanceGroup`, and
 * grows and shrinks the group according to the active policy. Pure logic over the group and an injected Clock.
 *
 * Slot flow per job: `reserve(key)` before asking GitLab for a job → `unreserve(key)` when none came, or
 * `acquire(key)` when one did → `release(key)` when the job is over (counts one use of the instance).
 */
export interface Taskscaler {
  readonly state: TaskscalerState;
  /** What the plugin reported at init. */
  readonly providerInfo: ProviderInfo;

  /** True when the plugin reported the capability (e.g. `suspend_resume`). */
  hasCapability(name: string): boolean;

  /**
   * Replaces the policy list at once (no restart). Last matching policy wins; none matching → the default
   * policy (idle_count 0). Throws `invalid_argument` naming `policy[i].<field>` and keeps the old list.
   */
  configureSchedule(policies: readonly PolicyConfig[]): void;

  /**
   * Holds capacity for `key` while the caller asks GitLab for a job. Synchronous, O(1).
   * Preemptive mode: succeeds only when a ready idle slot is not yet reserved. Otherwise: succeeds while
   * potential capacity (up to the instance limits) remains. Throws `no_capacity` (details.kind `available` when
   * instances could still be created, `potential` when the limits are reached), `invalid_argument` for a key
   * already in use, `unavailable` when not running.
   */
  reserve(key: string): void;

  /** Drops a reservation that did not turn into a job. Returns false when `key` was not reserved. */
  unreserve(key: string): boolean;

  /**
   * Binds `key` (reserving it first if needed) to a slot on a ready instance, waiting up to
   * `instanceAcquireTimeoutMs` for one. Rejects with `acquire_timeout`, `aborted` (signal or release),
   * `no_capacity` (implicit reserve failed), `unavailable` (shutdown).
   */
  acquire(key: string, options?: { signal?: AbortSignal }): Promise<Acquisition>;

  /**
   * Ends what `key` holds: an acquisition (frees the slot, counts one use), a pending acquire (rejected with
   * `aborted`), or a reservation. Returns false for an unknown key. Idempotent.
   */
  release(key: string): boolean;

  /** Counts of instances and slots by state, counters, histograms and the last decision. O(1) in the instances. */
  stats(): TaskscalerStats;

  /** One row per known instance (debugging, tests). O(instances). */
  instances(): InstanceInfo[];

  /**
   * Runs one update-and-scale cycle now and resolves when it is done. The taskscaler schedules these itself;
   * this is for tests, benchmarks and "reconcile now" requests.
   */
  tick(): Promise<void>;

  /**
   * The group changed outside the taskscaler's own calls (a plugin that can tell, a host that saw it): an update
   * runs at once, then follow-ups 10, 20, 40… ms apart until the configured interval. Coalesced; returns at once.
   * (The taskscaler does the same by itself right after each `increase` and `decrease` returns.)
   */
  instancesChanged(): void;

  /**
   * Stops scaling, fails pending acquires, waits for in-flight plugin calls, deletes every instance when
   * `deleteInstancesOnShutdown` (else persists them for re-adoption), then shuts the plugin's group down.
   * Idempotent: later calls return the first call's promise. Does not stop the plugin process.
   */
  shutdown(options?: { signal?: AbortSignal }): Promise<void>;
}
