import t from 'tap';
import { isValidTimeZone, parseCron } from '../src/index.js';

// 2024-01-15 is a Monday.
const utc = (d: number, h: number, m: number): number => Date.UTC(2024, 0, d, h, m);

t.test('periods are sets of minutes', async (t) => {
  const cases: Array<{ name: string; expr: string; tz?: string; yes: number[]; no: number[] }> = [
    { name: 'always', expr: '* * * * *', yes: [utc(15, 0, 0), utc(20, 23, 59)], no: [] },
    { name: 'business hours by name', expr: '* 8-15 * * mon-fri', tz: 'UTC', yes: [utc(15, 8, 0), utc(19, 15, 59)], no: [utc(15, 16, 0), utc(20, 9, 0)] },
    { name: 'upper-case names and lists', expr: '0-30 13,16 * * SUN', tz: 'UTC', yes: [utc(21, 13, 30), utc(21, 16, 0)], no: [utc(21, 13, 31), utc(15, 13, 0)] },
    { name: 'steps over a range', expr: '* 0-12/2 * * *', tz: 'UTC', yes: [utc(15, 0, 5), utc(15, 12, 0)], no: [utc(15, 1, 0), utc(15, 14, 0)] },
    { name: 'start/step runs to the end', expr: '50/5 * * * *', tz: 'UTC', yes: [utc(15, 3, 55)], no: [utc(15, 3, 5)] },
    { name: '7 is Sunday too', expr: '* * * * 7', tz: 'UTC', yes: [utc(21, 10, 0)], no: [utc(20, 10, 0)] },
    { name: 'day of month or day of week when both are set', expr: '* * 1 * mon', tz: 'UTC', yes: [utc(1, 5, 0), utc(15, 5, 0)], no: [utc(16, 5, 0)] },
    { name: 'month names', expr: '* * * jan *', tz: 'UTC', yes: [utc(3, 0, 0)], no: [Date.UTC(2024, 1, 3)] },
    { name: 'time zone moves the window', expr: '* 9 * * *', tz: 'Asia/Tokyo', yes: [utc(15, 0, 30)], no: [utc(15, 9, 0)] },
    { name: 'macro', expr: '@hourly', tz: 'UTC', yes: [utc(15, 7, 0)], no: [utc(15, 7, 1)] },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const s = parseCron(c.expr);
      for (const when of c.yes) t.ok(s.contains(when, c.tz), `contains ${new Date(when).toISOString()}`);
      for (const when of c.no) t.notOk(s.contains(when, c.tz), `excludes ${new Date(when).toISOString()}`);
    });
  }
});

t.test('invalid periods name the field and the reason', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['* * * *', /^expected 5 fields \(minute hour day-of-month month day-of-week\), got 4$/],
    ['* * * * * *', /got 6$/],
    ['', /got 0$/],
    ['61 * * * *', /^minute 61 is out of range 0-59$/],
    ['* 24 * * *', /^hour 24 is out of range 0-23$/],
    ['* * 0 * *', /^day of month 0 is out of range 1-31$/],
    ['* * * 13 *', /^month 13 is out of range 1-12$/],
    ['* * * * funday', /illegal characters/],
    ['* * * * 8', /^day of week 8 is out of range 0-7$/],
    ['* * 32 * *', /^day of month 32 is out of range 1-31$/],
    ['* 5-2 * * *', /From value is larger than to value/],
    ['*/0 * * * *', /illegal stepping: 0/],
    ['1-2-3 * * * *', /Syntax error/],
    ['1/2/3 * * * *', /Syntax error/],
    ['@5seconds', /got 1$/],
  ];
  for (const [expr, why] of cases) {
    t.test(expr || '(empty)', async (t) => {
      t.throws(() => parseCron(expr), { code: 'invalid_argument', message: why });
    });
  }
});

// Once the taskscaler's own table (its parser is gone; it schedules with parseCron now).
t.test('matching, table-driven (UTC, 2026-01-05 is a Monday)', async (t) => {
  const cases: [string, string, string, boolean][] = [
    ['office hours, last minute', '* 9-17 * * MON-FRI', '2026-01-05T17:59:00Z', true],
    ['office hours, after', '* 9-17 * * MON-FRI', '2026-01-05T18:00:00Z', false],
    ['office hours, Saturday', '* 9-17 * * MON-FRI', '2026-01-10T10:00:00Z', false],
    ['step of 15, off', '*/15 * * * *', '2026-01-05T12:44:00Z', false],
    ['range with step, on', '10-20/5 * * * *', '2026-01-05T12:15:00Z', true],
    ['range with step, off', '10-20/5 * * * *', '2026-01-05T12:25:00Z', false],
    ['month by name, other month', '* * 1 jan *', '2026-02-01T00:00:00Z', false],
    ['weekday 0 is Sunday', '* * * * 0', '2026-01-04T10:00:00Z', true],
    ['weekday names, list', '* * * * sat,sun', '2026-01-10T10:00:00Z', true],
    ['both day fields restricted: the day of month', '0 0 13 * FRI', '2026-01-13T00:00:00Z', true],
    ['both day fields restricted: a Friday', '0 0 13 * FRI', '2026-01-09T00:00:00Z', true],
    ['both day fields restricted: neither', '0 0 13 * FRI', '2026-01-12T00:00:00Z', false],
    ['day-of-week star: day-of-month must match', '0 0 13 * *', '2026-01-09T00:00:00Z', false],
    ['a stepped star is unrestricted: both must match (Tuesday the 6th)', '0 0 */5 * MON', '2026-01-06T00:00:00Z', false],
    ['a stepped star is unrestricted: both must match (Monday the 26th)', '0 0 */5 * MON', '2026-01-26T00:00:00Z', true],
    ['question mark is a star', '0 0 ? * FRI', '2026-01-09T00:00:00Z', true],
    ['@daily at midnight', '@daily', '2026-01-09T00:00:00Z', true],
    ['@daily a minute later', '@daily', '2026-01-09T00:01:00Z', false],
    ['@15minutes', '@15minutes', '2026-01-09T07:45:00Z', true],
    ['seconds inside the minute count', '30 12 * * *', '2026-01-09T12:30:59.999Z', true],
  ];
  for (const [name, expr, iso, want] of cases) t.equal(parseCron(expr).contains(Date.parse(iso), 'UTC'), want, name);
});

t.test('time zones: the same instant is read in the policy zone (DST, 45-minute offset)', async (t) => {
  const s = parseCron('* 9-17 * * MON-FRI');
  // 14:30 UTC on a Monday is 09:30 in New York (EST, UTC-5) and 23:30 in Tokyo.
  t.equal(s.contains(Date.parse('2026-01-05T14:30:00Z'), 'America/New_York'), true);
  t.equal(s.contains(Date.parse('2026-01-05T14:30:00Z'), 'Asia/Tokyo'), false);
  // Summer time: 13:30 UTC in July is 09:30 EDT (UTC-4) but 08:30 in winter.
  t.equal(s.contains(Date.parse('2026-07-06T13:30:00Z'), 'America/New_York'), true);
  t.equal(s.contains(Date.parse('2026-01-05T13:30:00Z'), 'America/New_York'), false);
  // 12:00 UTC is 17:45 in Kathmandu.
  t.equal(parseCron('45 17 * * *').contains(Date.parse('2026-01-05T12:00:00Z'), 'Asia/Kathmandu'), true);
  t.equal(parseCron('0 12 * * *').contains(Date.parse('2026-01-05T12:00:00Z'), 'Asia/Kathmandu'), false);
});

t.test('time zones are checked against the IANA database', async (t) => {
  for (const tz of ['UTC', 'Europe/Berlin', 'America/Argentina/Buenos_Aires', 'Etc/GMT+5']) t.ok(isValidTimeZone(tz), tz);
  for (const tz of ['', 'Mars/Olympus', '+01:00', 'Europe/Berlinn']) t.notOk(isValidTimeZone(tz), JSON.stringify(tz));
});
