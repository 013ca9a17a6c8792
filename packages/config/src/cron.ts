import { Cron } from 'croner';
import { RunnerError } from '@fleetrunner/common';

/**
 * A 5-field unix cron expression read as a set of minutes: the policy it belongs to is active during every
 * minute the expression names (GitLab Runner docs, "Periods syntax"). The one cron of the project: `runner config
 * validate` and the taskscaler's schedule both parse periods here, so they cannot disagree.
 */
export interface CronSchedule {
  /** The expression as written. */
  readonly expression: string;
  /** True when the wall-clock minute of `epochMs` in `timeZone` (IANA name; '' = local time) is in the set. */
  contains(epochMs: number, timeZone?: string): boolean;
}

// gronx's (upstream's) macros that denote minute sets; `@everysecond` has no minute-level meaning.
const MACROS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
  '@30minutes': '*/30 * * * *',
  '@15minutes': '*/15 * * * *',
  '@10minutes': '*/10 * * * *',
  '@5minutes': '*/5 * * * *',
  '@always': '* * * * *',
};

const MINUTE_MS = 60_000;

/**
 * Parses a cron period with `croner`: 5 fields `minute hour day-of-month month day-of-week`, `*`, `?` (= `*`),
 * `n`, `a-b`, `*\/s`, `a-b/s`, `a/s` (a to the field's end), lists, `JAN`–`DEC` and `SUN`–`SAT` in any case,
 * weekday 0 and 7 both Sunday, `L`/`W`/`#` in the day fields, and the macros above. When both day fields are
 * restricted (neither starts with `*` or `?`) a day matches if either does, otherwise both must (Vixie cron). Throws RunnerError `invalid_argument` with the reason.
 */
export function parseCron(expression: string): CronSchedule {
  const text = MACROS[expression.trim().toLowerCase()] ?? expression.trim();
  const fields = text.split(/\s+/).filter((p) => p !== '');
  if (fields.length !== 5) {
    throw new RunnerError('invalid_argument', `expected 5 fields (minute hour day-of-month month day-of-week), got ${fields.length}`);
  }
  const pattern = fields.join(' ');
  // Vixie cron: a day field that starts with `*` (or `?`) is unrestricted, so the other alone decides; croner's
  // OR mode would only treat a bare `*` that way.
  const star = (f: string | undefined): boolean => f !== undefined && (f.startsWith('*') || f.startsWith('?'));
  const domAndDow = star(fields[2]) || star(fields[4]);
  const byZone = new Map<string, Cron>();
  const compile = (timeZone: string): Cron => {
    let c = byZone.get(timeZone);
    if (c === undefined) {
      try {
        c = new Cron(pattern, { paused: true, mode: '5-part', sloppyRanges: true, domAndDow, timezone: timeZone === '' ? undefined : timeZone });
      } catch (err) {
        throw new RunnerError('invalid_argument', reason(err), { cause: err });
      }
      byZone.set(timeZone, c);
    }
    return c;
  };
  compile('');
  return {
    expression,
    contains(epochMs: number, timeZone = ''): boolean {
      // croner matches instants to the second; a period is a set of whole minutes.
      return compile(timeZone).match(new Date(Math.floor(epochMs / MINUTE_MS) * MINUTE_MS));
    },
  };
}

// croner counts day of month and month from 0 in its range messages.
const RANGES: Readonly<Record<string, { name: string; min: number; max: number; shift: number }>> = {
  minute: { name: 'minute', min: 0, max: 59, shift: 0 },
  hour: { name: 'hour', min: 0, max: 23, shift: 0 },
  day: { name: 'day of month', min: 1, max: 31, shift: 1 },
  month: { name: 'month', min: 1, max: 12, shift: 1 },
  dayOfWeek: { name: 'day of week', min: 0, max: 7, shift: 0 },
};

function reason(err: unknown): string {
  const text = (err instanceof Error ? err.message : String(err)).replace(/^CronPattern: /, '');
  const m = /^Invalid value for (\w+): (-?\d+)$/.exec(text);
  const r = m ? RANGES[m[1] ?? ''] : undefined;
  if (m === null || r === undefined) return text;
  return `${r.name} ${Number(m[2]) + r.shift} is out of range ${r.min}-${r.max}`;
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

/** The process's default time zone (what "local time" means for policies without `timezone`). */
export function localTimeZone(): string {
  return new Intl.DateTimeFormat().resolvedOptions().timeZone;
}
