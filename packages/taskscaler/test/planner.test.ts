import t from 'tap';
import { plan, DEFAULT_POLICY, type PlanInput } from '../src/index.js';

const base: PlanInput = {
  policy: DEFAULT_POLICY,
  perInstance: 4,
  acquired: 0,
  pending: 0,
  reserved: 0,
  reservationThrottling: true,
  freeReady: 0,
  onTheWay: 0,
  total: 0,
  limit: Infinity,
};

t.test('plan, table-driven', async (t) => {
  const cases: [string, Partial<PlanInput>, Partial<ReturnType<typeof plan>>][] = [
    ['nothing to do', {}, { scaleUp: 0, surplus: 0, reason: 'steady' }],
    ['idle slots round up to whole instances', { policy: { ...DEFAULT_POLICY, idleCount: 5 } }, { need: 5, scaleUp: 2, reason: 'idle_target' }],
    ['instances on their way count', { policy: { ...DEFAULT_POLICY, idleCount: 5 }, onTheWay: 1 }, { supply: 4, scaleUp: 1 }],
    ['waiting acquires are demand', { pending: 9 }, { scaleUp: 3, reason: 'demand' }],
    ['free ready slots serve waiters first', { pending: 3, freeReady: 2, total: 1 }, { scaleUp: 1, reason: 'demand' }],
    ['limit caps the request', { pending: 40, total: 8, limit: 10 }, { wantUp: 10, scaleUp: 2 }],
    ['limit reached', { pending: 40, total: 10, limit: 10 }, { wantUp: 10, scaleUp: 0, reason: 'limit' }],
    ['surplus free slots', { policy: { ...DEFAULT_POLICY, idleCount: 2 }, freeReady: 12, total: 3 }, { surplus: 10, scaleUp: 0 }],
    ['throttled reservations are not demand', { reserved: 20 }, { need: 0, scaleUp: 0 }],
    ['unthrottled reservations hold capacity', { reserved: 20, reservationThrottling: false }, { need: 20, scaleUp: 5, reason: 'demand' }],
    ['scale factor over acquired', { policy: { ...DEFAULT_POLICY, scaleFactor: 0.5 }, acquired: 8, total: 2 }, { idleTarget: 4, scaleUp: 1 }],
    ['max_use_count below capacity shrinks what a new instance brings', { perInstance: 1, pending: 3 }, { scaleUp: 3 }],
  ];
  for (const [name, input, want] of cases) t.match(plan({ ...base, ...input }), want, name);
});
