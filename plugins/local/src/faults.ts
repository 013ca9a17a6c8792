import { RunnerError } from '@fleetrunner/common';
import type { LocalConfig } from './config.js';

/**
 * The deterministic fault injection of plugin_config: counters kept per plugin process (from 1) and the
 * `unhealthy` list. Times (`boot_delay`, `vanish_after`) are applied by the group on its injected clock.
 */
export class Faults {
  private requested = 0;
  private decreased = 0;

  constructor(private readonly config: LocalConfig) {}

  /** Counts one requested instance; returns the error to report when `fail_increase_every` says it fails. */
  nextIncrease(): RunnerError | undefined {
    const n = ++this.requested;
    const every = this.config.failIncreaseEvery;
    return every > 0 && n % every === 0 ? new RunnerError('unavailable', `request ${n} failed (fail_increase_every=${every})`) : undefined;
  }

  /** Counts one id given to decrease; returns the error to report when `fail_decrease_every` refuses it. */
  nextDecrease(id: string): RunnerError | undefined {
    const n = ++this.decreased;
    const every = this.config.failDecreaseEvery;
    return every > 0 && n % every === 0 ? new RunnerError('unavailable', `${id}: deletion ${n} refused (fail_decrease_every=${every})`) : undefined;
  }

  /** True when `unhealthy` names the instance by id or creation index. */
  unhealthy(id: string, index: number): boolean {
    return this.config.unhealthy.includes(id) || this.config.unhealthy.includes(index);
  }
}
