import { idleTarget, type ActivePolicy } from './policy.js';

/** The numbers a scaling decision is made from (all counts of slots unless named otherwise). */
export interface PlanInput {
  policy: ActivePolicy;
  /** Slots a new instance provides (capacity, or max_use_count when lower). */
  perInstance: number;
  acquired: number;
  /** Acquires waiting for a slot. */
  pending: number;
  /** Reservations not yet acquiring. */
  reserved: number;
  reservationThrottling: boolean;
  /** Usable free slots on ready instances. */
  freeReady: number;
  /** Instances requested, creating or readying. */
  onTheWay: number;
  /** Instances in every state. */
  total: number;
  /** Instance cap; Infinity = none. */
  limit: number;
}

/** What the planner wants. */
export interface Plan {
  idleTarget: number;
  /** Slots that should be free or on their way: unplaced demand + idle target. */
  need: number;
  /** Free ready slots + slots on their way. */
  supply: number;
  /** Instances wanted before the limit. */
  wantUp: number;
  /** Instances to request now, within the limit (throttle and back-off not applied). */
  scaleUp: number;
  /** Free slots that may go: idle-expired instances are removed while their slots fit in here. */
  surplus: number;
  /** `demand` when waiting acquires alone exceed supply, else `idle_target`; `limit` when nothing fits. */
  reason: 'demand' | 'idle_target' | 'limit' | 'steady';
}

/**
 * The scaling rule (README "Scaling rules"):
 *   inUse  = acquired + pending (+ reserved when reservation throttling is off)
 *   I      = idleTarget(policy, inUse)
 *   need   = pending (+ reserved when throttling is off) + I
 *   supply = free slots on ready instances + perInstance × instances on their way
 *   up     = ceil((need − supply) / perInstance), at most limit − total
 *   surplus = supply − need
 */
export function plan(i: PlanInput): Plan {
  const held = i.reservationThrottling ? 0 : i.reserved;
  const target = idleTarget(i.policy, i.acquired + i.pending + held);
  const unplaced = i.pending + held;
  const need = unplaced + target;
  const supply = i.freeReady + i.perInstance * i.onTheWay;
  const deficit = need - supply;
  const wantUp = deficit > 0 ? Math.ceil(deficit / i.perInstance) : 0;
  const room = Math.max(0, i.limit - i.total);
  const scaleUp = Math.min(wantUp, room);
  let reason: Plan['reason'] = 'steady';
  if (wantUp > 0) reason = scaleUp === 0 ? 'limit' : unplaced > supply ? 'demand' : 'idle_target';
  return { idleTarget: target, need, supply, wantUp, scaleUp, surplus: Math.max(0, supply - need), reason };
}
