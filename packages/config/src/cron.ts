import { RunnerError } from '@fleetrunner/common';

/**
 * A 5-field unix cron expression read as a set of minutes: the policy it belongs to is active during every
 * minute the expression names (GitLab Runner docs, "Periods syntax").
 */
export interface CronSchedule {
  /** The expression as written. */
  readonly expression: string;
  /** True when the wall-clock minute of `epochMs` in `timeZone` (IANA name; '' = local time) is in the set. */
  contains(epochMs: number, timeZone?: string): boolean;
}

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const FIELDS: readonly FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'] },
  // 0 and 7 are both Sunday; names map SUN=0 … SAT=6.
  { name: 'day of week', min: 0, max: 7, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
];

const MACROS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** Parses a cron period. Throws RunnerError `invalid_argument` with the field and the reason. */
export function parseCron(expression: string): CronSchedule {
  const text = MACROS[expression.trim().toLowerCase()] ?? expression.trim();
  const parts = text.split(/\s+/).filter((p) => p !== '');
  if (parts.length !== 5) {
    throw new RunnerError('invalid_argument', `expected 5 fields (minute hour day-of-month month day-of-week), got ${parts.length}`);
  }
  const sets = parts.map((p, i) => parseField(p, FIELDS[i] as FieldSpec));
  const [minutes, hours, dom, months, dowRaw] = sets as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  const dow = new Set([...dowRaw].map((d) => (d === 7 ? 0 : d)));
  const domStar = (parts[2] ?? '').startsWith('*');
  const dowStar = (parts[4] ?? '').startsWith('*');
  return {
    expression,
    contains(epochMs: number, timeZone = ''): boolean {
      const t = wallClock(epochMs, timeZone);
      if (!minutes.has(t.minute) || !hours.has(t.hour) || !months.has(t.month)) return false;
      // Vixie cron: when both day fields are restricted, either may match.
      const d = dom.has(t.day);
      const w = dow.has(t.weekday);
      return domStar || dowStar ? d && w : d || w;
    },
  };
}

function parseField(text: string, spec: FieldSpec): Set<number> {
  const out = new Set<number>();
  for (const item of text.split(',')) {
    const fail = (why: string): never => {
      throw new RunnerError('invalid_argument', `${spec.name} field ${JSON.stringify(text)}: ${why}`);
    };
    const [range = '', stepText, extra] = item.split('/');
    if (extra !== undefined) fail(`too many "/" in ${JSON.stringify(item)}`);
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) === 0) fail(`step ${JSON.stringify(stepText)} must be a positive integer`);
      step = Number(stepText);
    }
    let lo: number;
    let hi: number;
    if (range === '*') {
      lo = spec.min;
      hi = spec.max;
    } else {
      const [a = '', b, more] = range.split('-');
      if (more !== undefined) fail(`bad range ${JSON.stringify(range)}`);
      lo = value(a, spec, fail);
      // `5/15` means from 5 to the end of the field's range in steps of 15.
      hi = b !== undefined ? value(b, spec, fail) : stepText !== undefined ? spec.max : lo;
      if (hi < lo) fail(`range ${JSON.stringify(range)} runs backwards`);
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

function value(text: string, spec: FieldSpec, fail: (why: string) => never): number {
  const lower = text.toLowerCase();
  const named = spec.names?.indexOf(lower) ?? -1;
  if (named >= 0) return named + (spec.name === 'month' ? 1 : 0);
  if (!/^\d+$/.test(text)) fail(`${JSON.stringify(text)} is not a number${spec.names ? ' or a name' : ''}`);
  const v = Number(text);
  if (v < spec.min || v > spec.max) fail(`${v} is out of range ${spec.min}-${spec.max}`);
  return v;
}

interface WallClock {
  minute: number;
  hour: number;
  day: number;
  month: number;
  weekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

function wallClock(epochMs: number, timeZone: string): WallClock {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: timeZone === '' ? undefined : timeZone,
      hourCycle: 'h23',
      minute: 'numeric',
      hour: 'numeric',
      day: 'numeric',
      month: 'numeric',
      weekday: 'short',
    });
    formatters.set(timeZone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(new Date(epochMs)).map((p) => [p.type, p.value]));
  return {
    minute: Number(parts['minute']),
    hour: Number(parts['hour']),
    day: Number(parts['day']),
    month: Number(parts['month']),
    weekday: WEEKDAYS.indexOf(parts['weekday'] ?? ''),
  };
}

/** True when `name` is an IANA time zone this runtime knows (`Europe/Berlin`, `UTC`), checked through Intl. */
export function isValidTimeZone(name: string): boolean {
  // Intl also takes raw offsets such as "+01:00"; Go's time.LoadLocation does not.
  if (name === '' || /^[+-]/.test(name)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}
