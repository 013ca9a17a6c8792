import { RunnerError } from '@fleetrunner/common';

/** Calendar fields of one instant in some time zone. `weekday` 0 = Sunday … 6 = Saturday. */
export interface ZonedParts {
  minute: number;
  hour: number;
  day: number;
  month: number;
  weekday: number;
}

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

const FIELDS: readonly FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS },
  // 7 is Sunday as well as 0.
  { name: 'day of week', min: 0, max: 7, names: DAYS },
];

/**
 * A 5-field cron expression (`minute hour day-of-month month day-of-week`) read as a set of minutes.
 * Each field: `*`, `?` (same as `*`), `n`, `a-b`, `*\/s`, `a-b/s`, `a/s` (a to the field's maximum) and comma
 * lists of those; months `JAN`–`DEC` and weekdays `SUN`–`SAT` by name (any case); weekday 0 and 7 are Sunday.
 * When both day fields are restricted (neither starts with `*` or `?`) a day matches if either matches
 * (Vixie cron); otherwise both must.
 */
export class CronExpression {
  private readonly sets: boolean[][];
  private readonly dayOr: boolean;

  private constructor(
    readonly source: string,
    sets: boolean[][],
    dayOr: boolean,
  ) {
    this.sets = sets;
    this.dayOr = dayOr;
  }

  /** Parses `expr`; throws `invalid_argument` with the offending field. */
  static parse(expr: string): CronExpression {
    const fields = expr.trim().split(/\s+/);
    if (fields.length !== 5 || fields[0] === '') {
      throw new RunnerError('invalid_argument', `cron "${expr}": want 5 fields (minute hour day-of-month month day-of-week), got ${fields[0] === '' ? 0 : fields.length}`);
    }
    const sets = FIELDS.map((spec, i) => parseField(expr, fields[i] ?? '', spec));
    const dow = sets[4]!;
    if (dow[7]) dow[0] = true;
    const restricted = (f: string): boolean => !f.startsWith('*') && !f.startsWith('?');
    return new CronExpression(expr, sets, restricted(fields[2]!) && restricted(fields[4]!));
  }

  /** True when the minute described by `p` belongs to the expression. */
  matches(p: ZonedParts): boolean {
    const [min, hour, dom, month, dow] = this.sets as [boolean[], boolean[], boolean[], boolean[], boolean[]];
    if (!min[p.minute] || !hour[p.hour] || !month[p.month]) return false;
    const d = dom[p.day] === true;
    const w = dow[p.weekday] === true;
    return this.dayOr ? d || w : d && w;
  }
}

function parseField(expr: string, field: string, spec: FieldSpec): boolean[] {
  const set = new Array<boolean>(spec.max + 1).fill(false);
  const fail = (why: string): RunnerError => new RunnerError('invalid_argument', `cron "${expr}": ${spec.name} "${field}": ${why}`);
  if (field === '') throw fail('empty');
  for (const item of field.split(',')) {
    const [range = '', stepText, extra] = item.split('/');
    if (extra !== undefined) throw fail(`too many "/" in "${item}"`);
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) < 1) throw fail(`bad step "${stepText}"`);
      step = Number(stepText);
    }
    let lo: number;
    let hi: number;
    if (range === '*' || range === '?') {
      lo = spec.min;
      hi = spec.max === 7 ? 6 : spec.max;
    } else {
      const parts = range.split('-');
      if (parts.length > 2) throw fail(`bad range "${range}"`);
      lo = value(parts[0] ?? '', spec, fail);
      // `a/s` means a to the field's end.
      hi = parts[1] !== undefined ? value(parts[1], spec, fail) : stepText !== undefined ? spec.max : lo;
      if (hi < lo) throw fail(`range "${range}" runs backwards`);
    }
    for (let v = lo; v <= hi; v += step) set[v] = true;
  }
  return set;
}

function value(text: string, spec: FieldSpec, fail: (why: string) => RunnerError): number {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n < spec.min || n > spec.max) throw fail(`${n} is outside ${spec.min}-${spec.max}`);
    return n;
  }
  const idx = spec.names?.indexOf(text.toUpperCase()) ?? -1;
  if (idx < 0) throw fail(`"${text}" is not a number${spec.names ? ' or name' : ''}`);
  return spec.names === MONTHS ? idx + 1 : idx;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

/** Checks an IANA time zone name; throws `invalid_argument`. */
export function checkTimeZone(timeZone: string): void {
  formatter(timeZone);
}

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        weekday: 'short',
      });
    } catch (err) {
      throw new RunnerError('invalid_argument', `unknown time zone "${timeZone}"`, { cause: err });
    }
    formatters.set(timeZone, f);
  }
  return f;
}

/** The calendar fields of `ms` (epoch milliseconds) in `timeZone` (IANA name). */
export function zonedParts(ms: number, timeZone: string): ZonedParts {
  const out: ZonedParts = { minute: 0, hour: 0, day: 1, month: 1, weekday: 0 };
  for (const part of formatter(timeZone).formatToParts(ms)) {
    switch (part.type) {
      case 'minute':
        out.minute = Number(part.value);
        break;
      case 'hour':
        out.hour = Number(part.value) % 24;
        break;
      case 'day':
        out.day = Number(part.value);
        break;
      case 'month':
        out.month = Number(part.value);
        break;
      case 'weekday':
        out.weekday = WEEKDAYS[part.value] ?? 0;
        break;
    }
  }
  return out;
}

/** The process's default time zone (what "local time" means for policies without `timezone`). */
export function localTimeZone(): string {
  return new Intl.DateTimeFormat().resolvedOptions().timeZone;
}
