import { RunnerError, toRunnerError } from '@fleetrunner/common';
import { isValidTimeZone, localTimeZone, parseCron, type CronSchedule } from '@fleetrunner/config';

/** One `[[runners.autoscaler.policy]]` entry. Durations in milliseconds. */
export interface PolicyConfig {
  /** Cron expressions (5 fields); the policy is active in any minute one of them matches. Default `* * * * *`. */
  periods?: readonly string[];
  /** IANA zone the periods are read in. Default: the process's local zone. */
  timezone?: string;
  /** Idle slots (not instances) to keep ready. Default 0. */
  idleCount?: number;
  /** How long an idle instance beyond the idle target may live. Default 0 (removed at the next tick). */
  idleTimeMs?: number;
  /** Extra idle slots as a fraction of slots in use. Default 0. */
  scaleFactor?: number;
  /** Cap of the scale-factor idle target; 0 = none. Default 0. */
  scaleFactorLimit?: number;
  /** Reserve only on ready idle slots. Default `idleCount > 0`. */
  preemptiveMode?: boolean;
}

/** A policy with defaults applied. */
export interface ActivePolicy {
  /** Index in the configured list; -1 for the built-in default. */
  index: number;
  idleCount: number;
  idleTimeMs: number;
  scaleFactor: number;
  scaleFactorLimit: number;
  preemptiveMode: boolean;
}

/** A validated policy with parsed periods. */
export interface CompiledPolicy extends ActivePolicy {
  periods: CronSchedule[];
  timezone: string;
}

/** What applies when no policy matches: no idle capacity, not preemptive. */
export const DEFAULT_POLICY: ActivePolicy = Object.freeze({
  index: -1,
  idleCount: 0,
  idleTimeMs: 0,
  scaleFactor: 0,
  scaleFactorLimit: 0,
  preemptiveMode: false,
});

function fail(path: string, msg: string, cause?: unknown): RunnerError {
  return new RunnerError('invalid_argument', `${path}: ${msg}`, { cause, details: { path } });
}

function nonNegInt(path: string, v: number | undefined): number {
  if (v === undefined) return 0;
  if (!Number.isInteger(v) || v < 0) throw fail(path, `must be an integer ≥ 0, got ${v}`);
  return v;
}

function nonNeg(path: string, v: number | undefined): number {
  if (v === undefined) return 0;
  if (!Number.isFinite(v) || v < 0) throw fail(path, `must be a number ≥ 0, got ${v}`);
  return v;
}

/** Validates and compiles a policy list; throws `invalid_argument` naming `policy[i].<field>`. */
export function compilePolicies(list: readonly PolicyConfig[]): CompiledPolicy[] {
  return list.map((p, i) => {
    const at = `policy[${i}]`;
    const timezone = p.timezone === undefined || p.timezone === '' ? localTimeZone() : p.timezone;
    if (!isValidTimeZone(timezone)) throw fail(`${at}.timezone`, `unknown time zone "${timezone}"`);
    const sources = p.periods === undefined || p.periods.length === 0 ? ['* * * * *'] : p.periods;
    const periods = sources.map((s, j) => {
      try {
        return parseCron(s);
      } catch (err) {
        throw fail(`${at}.periods[${j}]`, `cron "${s}": ${toRunnerError(err).message}`, err);
      }
    });
    const idleCount = nonNegInt(`${at}.idle_count`, p.idleCount);
    return {
      index: i,
      periods,
      timezone,
      idleCount,
      idleTimeMs: nonNeg(`${at}.idle_time`, p.idleTimeMs),
      scaleFactor: nonNeg(`${at}.scale_factor`, p.scaleFactor),
      scaleFactorLimit: nonNegInt(`${at}.scale_factor_limit`, p.scaleFactorLimit),
      preemptiveMode: p.preemptiveMode ?? idleCount > 0,
    };
  });
}

/**
 * Picks the active policy: the last one with a period matching the current minute. The answer is cached per
 * wall-clock minute (every zone offset in use is a whole number of minutes), so the hot paths pay nothing.
 */
export class PolicySchedule {
  private policies: CompiledPolicy[];
  private cachedMinute = Number.NaN;
  private cached: ActivePolicy = DEFAULT_POLICY;

  constructor(policies: CompiledPolicy[]) {
    this.policies = policies;
  }

  replace(policies: CompiledPolicy[]): void {
    this.policies = policies;
    this.cachedMinute = Number.NaN;
  }

  /** The policy in force at `now` (epoch ms). */
  active(now: number): ActivePolicy {
    const minute = Math.floor(now / 60_000);
    if (minute !== this.cachedMinute) {
      this.cached = this.evaluate(now);
      this.cachedMinute = minute;
    }
    return this.cached;
  }

  private evaluate(now: number): ActivePolicy {
    for (let i = this.policies.length - 1; i >= 0; i--) {
      const p = this.policies[i]!;
      if (p.periods.some((c) => c.contains(now, p.timezone))) return p;
    }
    return DEFAULT_POLICY;
  }
}

/**
 * Idle slots to keep: `idleCount`, raised to ceil(scaleFactor × inUse) (capped at scaleFactorLimit when > 0)
 * when scaleFactor > 0.
 */
export function idleTarget(p: ActivePolicy, inUse: number): number {
  if (p.scaleFactor <= 0) return p.idleCount;
  // The epsilon keeps 0.1 × 30 at 3: binary floats make it 3.0000000000000004.
  let s = Math.ceil(p.scaleFactor * inUse - 1e-9);
  if (p.scaleFactorLimit > 0) s = Math.min(s, p.scaleFactorLimit);
  return Math.max(p.idleCount, s);
}
