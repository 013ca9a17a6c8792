import { RunnerError } from './errors.js';

const NS_PER_MS = 1e6;
const MAX_NS = 2 ** 63;

const UNITS: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  '\u00b5s': 1e3, // micro sign
  '\u03bcs': 1e3, // Greek mu
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/**
 * Parses a Go duration string (`"1h30m"`, `"300ms"`, `"1.5s"`, `".5s"`, `"-2m"`, `"0"`) as Go's
 * `time.ParseDuration` does, into milliseconds (fractional below 1 ms). Units ns, us, µs (micro sign or Greek
 * mu), ms, s, m, h. Throws RunnerError `invalid_argument` naming what is wrong. The project's one Go-duration
 * parser: config.toml values, job variables (`RUNNER_SCRIPT_TIMEOUT`) and plugin configs all come here.
 */
export function parseGoDuration(text: string): number {
  return parseGoDurationNs(text) / NS_PER_MS;
}

function parseGoDurationNs(text: string): number {
  let s = text;
  let neg = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    neg = s.startsWith('-');
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw invalid(text, 'expected a Go duration such as "90s", "15m" or "1h30m"');
  let total = 0;
  while (s !== '') {
    const m = /^(\d*)(?:\.(\d*))?/.exec(s);
    const whole = m?.[1] ?? '';
    const frac = m?.[2];
    if (whole === '' && (frac === undefined || frac === '')) throw invalid(text, 'expected a number before each unit');
    s = s.slice(m?.[0].length ?? 0);
    const unitMatch = /^[^\d.]+/.exec(s);
    const unit = unitMatch?.[0] ?? '';
    if (unit === '') throw invalid(text, 'missing unit (one of ns, us, ms, s, m, h)');
    const scale = UNITS[unit];
    if (scale === undefined) throw invalid(text, `unknown unit ${JSON.stringify(unit)} (expected ns, us, ms, s, m or h)`);
    s = s.slice(unit.length);
    total += Number(whole === '' ? '0' : whole) * scale;
    if (frac) total += Number(`0.${frac}`) * scale;
    if (total >= MAX_NS) throw invalid(text, 'too large (overflows 64-bit nanoseconds)');
  }
  return neg ? -total : total;
}

/** {@link parseGoDuration}, but undefined instead of an error (for optional variables that fall back to a default). */
export function tryParseGoDuration(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  try {
    return parseGoDuration(text);
  } catch {
    return undefined;
  }
}

function invalid(text: string, why: string): RunnerError {
  return new RunnerError('invalid_argument', `invalid duration ${JSON.stringify(text)}: ${why}`);
}

/** Formats milliseconds the way Go prints a `time.Duration` (`1h30m0s`, `300ms`, `1.5s`, `0s`), for messages. */
export function formatGoDuration(ms: number): string {
  if (ms === 0) return '0s';
  const sign = ms < 0 ? '-' : '';
  let rest = Math.abs(ms);
  if (rest < 1e-3) return `${sign}${trim(rest * 1e6)}ns`;
  if (rest < 1) return `${sign}${trim(rest * 1e3)}\u00b5s`;
  if (rest < 1000) return `${sign}${trim(rest)}ms`;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = trim(rest / 1000);
  if (h > 0) return `${sign}${h}h${m}m${s}s`;
  if (m > 0) return `${sign}${m}m${s}s`;
  return `${sign}${s}s`;
}

function trim(v: number): string {
  return String(Math.round(v * 1e6) / 1e6);
}
