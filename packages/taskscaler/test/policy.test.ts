import t from 'tap';
import { PolicySchedule, compilePolicies, idleTarget, DEFAULT_POLICY, type ActivePolicy } from '../src/index.js';

const at = (iso: string): number => Date.parse(iso);

t.test('last matching policy wins; none matching is the default', async (t) => {
  const s = new PolicySchedule(
    compilePolicies([
      { idleCount: 1, timezone: 'UTC' },
      { periods: ['* 9-17 * * MON-FRI'], timezone: 'UTC', idleCount: 10 },
      { periods: ['* 12 * * *'], timezone: 'UTC', idleCount: 3 },
    ]),
  );
  t.equal(s.active(at('2026-01-05T08:00:00Z')).idleCount, 1, 'only the catch-all matches');
  t.equal(s.active(at('2026-01-05T10:00:00Z')).idleCount, 10, 'office hours');
  t.equal(s.active(at('2026-01-05T12:30:00Z')).idleCount, 3, 'lunch overrides office hours: last match wins');
  s.replace(compilePolicies([{ periods: ['* 9-17 * * MON-FRI'], timezone: 'UTC', idleCount: 4 }]));
  t.equal(s.active(at('2026-01-05T12:30:00Z')).idleCount, 4, 'replace takes effect at once, within the same minute');
  t.same(s.active(at('2026-01-05T20:00:00Z')), DEFAULT_POLICY, 'no match: idle_count 0, not preemptive');
});

t.test('defaults: periods "* * * * *", preemptive_mode = idle_count > 0', async (t) => {
  const [a, b, c] = compilePolicies([{ idleCount: 2 }, {}, { idleCount: 2, preemptiveMode: false }]);
  t.equal(a!.periods.length, 1);
  t.equal(a!.periods[0]!.expression, '* * * * *');
  t.equal(a!.preemptiveMode, true);
  t.equal(b!.preemptiveMode, false);
  t.equal(c!.preemptiveMode, false, 'explicit override');
  t.equal(b!.idleTimeMs, 0);
});

t.test('validation errors name policy[i].field', async (t) => {
  const cases: [string, Parameters<typeof compilePolicies>[0], RegExp][] = [
    ['bad cron', [{}, { periods: ['* * * *', '* * * * *'] }], /^policy\[1\]\.periods\[0\]: cron "\* \* \* \*": expected 5 fields/],
    ['second period bad', [{ periods: ['* * * * *', '61 * * * *'] }], /^policy\[0\]\.periods\[1\]: /],
    ['bad zone', [{ timezone: 'Nowhere/City' }], /^policy\[0\]\.timezone: unknown time zone "Nowhere\/City"/],
    ['negative idle count', [{ idleCount: -1 }], /^policy\[0\]\.idle_count: must be an integer ≥ 0/],
    ['fractional idle count', [{ idleCount: 1.5 }], /^policy\[0\]\.idle_count/],
    ['negative idle time', [{ idleTimeMs: -5 }], /^policy\[0\]\.idle_time/],
    ['negative scale factor', [{ scaleFactor: -0.1 }], /^policy\[0\]\.scale_factor: /],
    ['bad scale factor limit', [{ scaleFactorLimit: 2.5 }], /^policy\[0\]\.scale_factor_limit/],
  ];
  for (const [name, list, re] of cases) t.throws(() => compilePolicies(list), { code: 'invalid_argument', message: re }, name);
});

t.test('idle target: idle_count, scale_factor, scale_factor_limit', async (t) => {
  const p = (o: Partial<ActivePolicy>): ActivePolicy => ({ ...DEFAULT_POLICY, ...o });
  const cases: [string, ActivePolicy, number, number][] = [
    ['idle count only', p({ idleCount: 3 }), 50, 3],
    ['factor below idle count', p({ idleCount: 5, scaleFactor: 0.1 }), 20, 5],
    ['factor above idle count', p({ idleCount: 1, scaleFactor: 0.5 }), 9, 5],
    ['factor is capped by the limit', p({ idleCount: 1, scaleFactor: 1, scaleFactorLimit: 4 }), 100, 4],
    ['limit never lowers below idle count', p({ idleCount: 6, scaleFactor: 1, scaleFactorLimit: 4 }), 100, 6],
    ['no float drift: 0.1 × 30 = 3', p({ scaleFactor: 0.1 }), 30, 3],
    ['nothing in use', p({ scaleFactor: 2 }), 0, 0],
  ];
  for (const [name, policy, inUse, want] of cases) t.equal(idleTarget(policy, inUse), want, name);
});
