/**
 * A throttling rule. `actions` picks the calls (default every call): an action name (`DescribeInstances`), or one
 * qualified by its service's signing name (`ec2:DescribeInstances`, `autoscaling:*`, `ec2-instance-connect:*`).
 * With `count` the next `count` matching calls are throttled, then the rule is spent (a storm); with `every` each
 * `every`-th matching call is (1 = all of them, until cleared).
 */
export interface ThrottleRule {
  actions?: string[];
  count?: number;
  every?: number;
  /**
   * For stand-ins whose cloud throttles with more than one answer (GCE: 429 `rateLimitExceeded`, 503
   * `backendError`): the HTTP status to answer with. Stand-ins with one answer per service ignore it.
   */
  status?: number;
  /** Seconds for a `Retry-After` header, where the cloud sends one. */
  retryAfterSeconds?: number;
}

interface ActiveRule {
  rule: ThrottleRule;
  actions: string[];
  remaining: number;
  every: number;
  seen: number;
}

/** Deterministic fault decisions for API calls. */
export class Faults {
  private rules: ActiveRule[] = [];
  /** How many calls were throttled so far. */
  throttled = 0;

  /** Adds a rule; throws a message naming the field when it is malformed. */
  addThrottle(rule: ThrottleRule): void {
    const count = rule.count ?? 0;
    const every = rule.every ?? 0;
    if (!Number.isInteger(count) || count < 0 || !Number.isInteger(every) || every < 0) throw new Error('throttle: count and every must be non-negative integers');
    if ((count > 0) === (every > 0)) throw new Error('throttle: set exactly one of count (a storm of N calls) or every (each Nth call)');
    if (rule.actions !== undefined && (!Array.isArray(rule.actions) || rule.actions.some((a) => typeof a !== 'string' || a === ''))) {
      throw new Error('throttle: actions must be a list of action names');
    }
    for (const k of ['status', 'retryAfterSeconds'] as const) {
      const v = rule[k];
      if (v !== undefined && !(Number.isInteger(v) && v >= 0)) throw new Error(`throttle: ${k} must be a non-negative integer`);
    }
    this.rules.push({ rule: { ...rule }, actions: rule.actions ?? ['*'], remaining: count, every, seen: 0 });
  }

  clear(): void {
    this.rules = [];
  }

  /** Counts one call and says whether it is throttled. */
  throttle(service: string, action: string): boolean {
    return this.match(service, action) !== undefined;
  }

  /** Counts one call; the (first) rule that throttles it, or undefined when it goes through. */
  match(service: string, action: string): ThrottleRule | undefined {
    let hit: ThrottleRule | undefined;
    for (const r of this.rules) {
      if (!r.actions.some((a) => matches(a, service, action))) continue;
      r.seen++;
      if (r.remaining > 0) {
        r.remaining--;
        hit ??= r.rule;
      } else if (r.every > 0 && r.seen % r.every === 0) hit ??= r.rule;
    }
    this.rules = this.rules.filter((r) => r.remaining > 0 || r.every > 0);
    if (hit) this.throttled++;
    return hit;
  }
}

function matches(pattern: string, service: string, action: string): boolean {
  if (pattern === '*') return true;
  const at = pattern.indexOf(':');
  if (at < 0) return pattern === action;
  const [svc, act] = [pattern.slice(0, at), pattern.slice(at + 1)];
  return svc === service && (act === '*' || act === action);
}
