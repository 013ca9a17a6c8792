import t from 'tap';
import { CronExpression, zonedParts } from '../src/index.js';

const at = (iso: string): number => Date.parse(iso);
const matches = (expr: string, iso: string, tz = 'UTC'): boolean => CronExpression.parse(expr).matches(zonedParts(at(iso), tz));

t.test('matching, table-driven (UTC)', async (t) => {
  const cases: [string, string, string, boolean][] = [
    ['every minute', '* * * * *', '2026-01-05T12:34:00Z', true],
    ['office hours, inside', '* 9-17 * * MON-FRI', '2026-01-05T09:00:00Z', true],
    ['office hours, last minute', '* 9-17 * * MON-FRI', '2026-01-05T17:59:00Z', true],
    ['office hours, after', '* 9-17 * * MON-FRI', '2026-01-05T18:00:00Z', false],
    ['office hours, Saturday', '* 9-17 * * MON-FRI', '2026-01-10T10:00:00Z', false],
    ['step of 15, on', '*/15 * * * *', '2026-01-05T12:45:00Z', true],
    ['step of 15, off', '*/15 * * * *', '2026-01-05T12:44:00Z', false],
    ['list', '0,30 * * * *', '2026-01-05T12:30:00Z', true],
    ['range with step, on', '10-20/5 * * * *', '2026-01-05T12:15:00Z', true],
    ['range with step, off', '10-20/5 * * * *', '2026-01-05T12:25:00Z', false],
    ['start with step runs to the end', '50/5 * * * *', '2026-01-05T12:55:00Z', true],
    ['month by name', '* * 1 JAN *', '2026-01-01T00:00:00Z', true],
    ['month by name, other month', '* * 1 jan *', '2026-02-01T00:00:00Z', false],
    ['weekday 7 is Sunday', '* * * * 7', '2026-01-04T10:00:00Z', true],
    ['weekday 0 is Sunday', '* * * * 0', '2026-01-04T10:00:00Z', true],
    ['weekday names any case', '* * * * sat,sun', '2026-01-10T10:00:00Z', true],
    ['both day fields restricted: either matches (day 13)', '0 0 13 * FRI', '2026-01-13T00:00:00Z', true],
    ['both day fields restricted: either matches (a Friday)', '0 0 13 * FRI', '2026-01-09T00:00:00Z', true],
    ['both day fields restricted: neither', '0 0 13 * FRI', '2026-01-12T00:00:00Z', false],
    ['day-of-week star: day-of-month must match', '0 0 13 * *', '2026-01-09T00:00:00Z', false],
    ['question mark is a star', '0 0 ? * FRI', '2026-01-09T00:00:00Z', true],
  ];
  for (const [name, expr, iso, want] of cases) t.equal(matches(expr, iso), want, name);
});

t.test('invalid expressions name the problem', async (t) => {
  const cases: [string, RegExp][] = [
    ['* * * *', /want 5 fields/],
    ['* * * * * *', /want 5 fields/],
    ['', /want 5 fields/],
    ['60 * * * *', /minute "60": 60 is outside 0-59/],
    ['* 24 * * *', /hour "24"/],
    ['* * 0 * *', /day of month "0"/],
    ['5-1 * * * *', /runs backwards/],
    ['*/0 * * * *', /bad step/],
    ['* * * FOO *', /"FOO" is not a number or name/],
    ['@daily', /want 5 fields/],
    ['1/2/3 * * * *', /too many "\/"/],
  ];
  for (const [expr, re] of cases) t.throws(() => CronExpression.parse(expr), { code: 'invalid_argument', message: re }, expr || '(empty)');
});

t.test('time zones: the same instant is read in the policy zone', async (t) => {
  // 14:30 UTC on a Monday is 09:30 in New York (EST, UTC-5) and 23:30 in Tokyo.
  const expr = '* 9-17 * * MON-FRI';
  t.equal(matches(expr, '2026-01-05T14:30:00Z', 'America/New_York'), true);
  t.equal(matches(expr, '2026-01-05T14:30:00Z', 'Asia/Tokyo'), false);
  // Summer time: 13:30 UTC in July is 09:30 EDT (UTC-4) but 08:30 in winter.
  t.equal(matches(expr, '2026-07-06T13:30:00Z', 'America/New_York'), true);
  t.equal(matches(expr, '2026-01-05T13:30:00Z', 'America/New_York'), false);
  // A zone with a 45-minute offset: 12:00 UTC is 17:45 in Kathmandu.
  t.same(zonedParts(at('2026-01-05T12:00:00Z'), 'Asia/Kathmandu'), { minute: 45, hour: 17, day: 5, month: 1, weekday: 1 });
  // Midnight is hour 0, not 24.
  t.equal(zonedParts(at('2026-01-05T00:00:00Z'), 'UTC').hour, 0);
  t.throws(() => zonedParts(0, 'Mars/Olympus_Mons'), { code: 'invalid_argument', message: /unknown time zone/ });
});
