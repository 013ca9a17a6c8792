import t from 'tap';
import { formatGoDuration, parseGoDuration, tryParseGoDuration } from '../src/index.js';

t.test('Go duration strings parse to milliseconds', async (t) => {
  const cases: Array<[string, number]> = [
    ['0', 0],
    ['0s', 0],
    ['300ms', 300],
    ['1.5s', 1500],
    ['.5s', 500],
    ['5.s', 5000],
    ['1h30m', 5_400_000],
    ['20m0s', 1_200_000],
    ['24h', 86_400_000],
    ['-2m', -120_000],
    ['+45s', 45_000],
    ['1500us', 1.5],
    ['1500\u00b5s', 1.5],
    ['1500\u03bcs', 1.5],
    ['250ns', 0.00025],
    ['1h1m1s1ms', 3_661_001],
  ];
  for (const [text, ms] of cases) {
    t.test(text, async (t) => {
      t.equal(parseGoDuration(text), ms);
    });
  }
});

t.test('bad duration strings say what is wrong', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['', /expected a Go duration/],
    ['15', /missing unit/],
    ['15 minutes', /unknown unit " minutes"/],
    ['1d', /unknown unit "d"/],
    ['h', /expected a number before each unit/],
    ['1.s.', /expected a number before each unit/],
    ['3000000h', /too large/],
  ];
  for (const [text, why] of cases) {
    t.test(JSON.stringify(text), async (t) => {
      t.throws(() => parseGoDuration(text), { code: 'invalid_argument', message: why });
    });
  }
});

t.test('durations format like Go for messages', async (t) => {
  const cases: Array<[number, string]> = [
    [0, '0s'],
    [300, '300ms'],
    [1500, '1.5s'],
    [5_400_000, '1h30m0s'],
    [61_000, '1m1s'],
    [-5000, '-5s'],
    [0.00003, '30ns'],
    [0.25, '250\u00b5s'],
  ];
  for (const [ms, text] of cases) {
    t.test(text, async (t) => {
      t.equal(formatGoDuration(ms), text);
    });
  }
});

// Once plugins/local's own parser: the undefined-returning form for optional values.
t.test('tryParseGoDuration gives undefined for what parseGoDuration rejects', async (t) => {
  const cases: [string | undefined, number | undefined][] = [
    ['0', 0], ['2s', 2000], ['1h2m3.5s', 3_723_500], ['1µs', 0.001], ['-1s', -1000],
    [undefined, undefined], ['', undefined], ['5', undefined], ['1d', undefined], ['s', undefined], ['1s ', undefined], ['10x', undefined],
  ];
  for (const [text, want] of cases) t.equal(tryParseGoDuration(text), want, JSON.stringify(text));
});
