import { RunnerError, linkSignals, raceAbort, type Clock, type Logger } from '@fleetrunner/common';
import type { InstanceGroup } from '@fleetrunner/fleeting';
import type { ResolvedConfig } from './config.js';
import type { Fleet } from './fleet.js';
import type { Persister } from './persister.js';
import type { PluginHealth } from './plugin-health.js';
import type { PolicySchedule } from './policy.js';
import type { DecisionCore, Histogram, TaskscalerCounters } from './stats.js';
import type { TaskscalerHooks } from './taskscaler.js';

/** What the parts of one taskscaler share. Owned by the Scaler; the parts never outlive it. */
export interface Context {
  readonly group: InstanceGroup;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly config: ResolvedConfig;
  readonly hooks: TaskscalerHooks;
  readonly fleet: Fleet;
  readonly schedule: PolicySchedule;
  readonly counters: TaskscalerCounters;
  readonly histograms: {
    creationSeconds: Histogram;
    isRunningSeconds: Histogram;
    readinessSeconds: Histogram;
    deletionSeconds: Histogram;
    lifeSeconds: Histogram;
  };
  readonly persister: Persister;
  /** Whether the plugin process is up (see PluginHealth); every pluginCall reports to it. */
  readonly plugin: PluginHealth;
  /** Aborted when shutdown starts: readiness hooks, heartbeats and plugin calls stop. */
  readonly lifetime: AbortSignal;
  /** Instance cap from max_instances and the plugin's max size; Infinity = none. */
  readonly limit: number;
  /** Asks for a scaling pass soon (coalesced; no plugin `update`). */
  kick(): void;
  /** Slot counts changed: asks for a pass only when the plan now wants to scale up or an idle expiry is due earlier. */
  slotsChanged(): void;
  /** Keeps a background promise so shutdown can wait for it; it must not reject. */
  track(p: Promise<void>): void;
  /** Completes a scaling decision with the current numbers, logs it and hands it to the hook. */
  decide(d: DecisionCore): void;
}

/**
 * Calls the plugin with a deadline of `ms` (a clock timer, cleared after) and the given signals; a plugin that
 * ignores its signal cannot hold the caller past the deadline. The outcome tells `ctx.plugin` whether the plugin
 * process is up.
 */
export async function pluginCall<T>(
  ctx: Pick<Context, 'clock'> & Partial<Pick<Context, 'plugin'>>,
  ms: number,
  what: string,
  signals: (AbortSignal | undefined)[],
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const deadline = new AbortController();
  const link = linkSignals(...signals, deadline.signal);
  const timer = ctx.clock.setTimeout(() => deadline.abort(new RunnerError('timeout', `${what}: no answer within ${ms} ms`)), ms);
  try {
    const result = await raceAbort(fn(link.signal), link.signal);
    ctx.plugin?.succeeded();
    return result;
  } catch (err) {
    ctx.plugin?.failed(err);
    throw RunnerError.wrap(what, err);
  } finally {
    timer.clear();
    link.dispose();
  }
}
