import { RunnerError } from '@fleetrunner/common';

/**
 * Quotes `value` as one POSIX shell word with single quotes: every character except `'` is literal inside
 * them, and `'` becomes `'\''`. Unlike bash's `$'…'` ANSI-C quoting (which dash reads as a literal `$` and
 * turns `eval $'echo "Running on …"\n'` into "Running on …n: not found"), this works the same in bash, dash and
 * busybox sh. NUL cannot be carried by a shell word or an environment value, so it is refused.
 */
export function shellQuote(value: string): string {
  if (value.includes('\0')) throw new RunnerError('invalid_argument', 'quoting a shell word: value contains NUL');
  if (value !== '' && /^[A-Za-z0-9_@%+:,./-]+$/.test(value)) return value;
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** Quotes every element and joins them with spaces: a command line whose words reach argv unchanged. */
export function shellJoin(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}

/** True when `name` can be exported by a POSIX shell (`[A-Za-z_][A-Za-z0-9_]*`). */
export function isValidVariableName(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name);
}

/**
 * Replaces the credentials of a URL (`user:password@`) by `[MASKED]` so it can be logged; non-URLs (paths,
 * scp-like `git@host:path`) come back unchanged.
 */
export function redactUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return raw;
  }
  if (url.username === '' && url.password === '') return raw;
  const at = raw.indexOf('@', raw.indexOf('//') + 2);
  if (at < 0) return raw;
  return `${raw.slice(0, raw.indexOf('//') + 2)}[MASKED]${raw.slice(at)}`;
}

/** Splits a URL into the form with credentials and the form without (`user:password@` removed). */
export function splitCredentials(raw: string): { withCredentials: string; withoutCredentials: string } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { withCredentials: raw, withoutCredentials: raw };
  }
  if (url.username === '' && url.password === '') return { withCredentials: raw, withoutCredentials: raw };
  const start = raw.indexOf('//') + 2;
  const at = raw.indexOf('@', start);
  return { withCredentials: raw, withoutCredentials: at < 0 ? raw : raw.slice(0, start) + raw.slice(at + 1) };
}

/** Escapes a literal string for a git config value-pattern (POSIX extended regular expression). */
export function regexQuote(value: string): string {
  return value.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');
}
