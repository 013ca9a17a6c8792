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
    ['61 * * * *', /^minute field "61": 61 is out of range 0-59$/],
    ['* 24 * * *', /^hour field "24": 24 is out of range 0-23$/],
    ['* * 0 * *', /^day of month field "0": 0 is out of range 1-31$/],
    ['* * * 13 *', /^month field "13": 13 is out of range 1-12$/],
    ['* * * * funday', /^day of week field "funday": "funday" is not a number or a name$/],
    ['* 5-2 * * *', /runs backwards/],
    ['*/0 * * * *', /step "0" must be a positive integer/],
    ['1-2-3 * * * *', /bad range/],
  ];
  for (const [expr, why] of cases) {
    t.test(expr, async (t) => {
      t.throws(() => parseCron(expr), { code: 'invalid_argument', message: why });
    });
  }
});

t.test('time zones are checked against the IANA database', async (t) => {
  for (const tz of ['UTC', 'Europe/Berlin', 'America/Argentina/Buenos_Aires', 'Etc/GMT+5']) t.ok(isValidTimeZone(tz), tz);
  for (const tz of ['', 'Mars/Olympus', '+01:00', 'Europe/Berlinn']) t.notOk(isValidTimeZone(tz), JSON.stringify(tz));
});
