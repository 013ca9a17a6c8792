import { posix } from 'node:path';
import type { JobVariable } from './types.js';

const SPECIAL = new Set(['*', '#', '$', '@', '!', '?', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);

function isNameChar(c: string): boolean {
  return /^[A-Za-z0-9_]$/.test(c);
}

/** Reads the name after a `$` (Go `os.Expand` rules): returns the name and how many characters it used. */
function shellName(s: string): { name: string; width: number } {
  if (s[0] === '{') {
    if (s.length > 2 && SPECIAL.has(s[1] ?? '') && s[2] === '}') return { name: s[1] ?? '', width: 3 };
    const close = s.indexOf('}', 1);
    if (close === 1) return { name: '', width: 2 };
    if (close < 0) return { name: '', width: 1 };
    return { name: s.slice(1, close), width: close + 1 };
  }
  if (SPECIAL.has(s[0] ?? '')) return { name: s[0] ?? '', width: 1 };
  let i = 0;
  while (i < s.length && isNameChar(s[i] ?? '')) i++;
  return { name: s.slice(0, i), width: i };
}

/**
 * Replaces `$NAME` and `${NAME}` in `value` with `lookup(NAME)`, with Go's `os.Expand` rules (which upstream
 * uses for job variables): a `$` not followed by a name stays, `${}` and an unclosed `${` are dropped,
 * special one-character names (`$$`, `$1`, `$@`, …) are looked up as such.
 */
export function expandString(value: string, lookup: (name: string) => string): string {
  let out = '';
  let i = 0;
  for (let j = 0; j < value.length; j++) {
    if (value[j] !== '$' || j + 1 >= value.length) continue;
    out += value.slice(i, j);
    const { name, width } = shellName(value.slice(j + 1));
    if (name === '' && width > 0) {
      // invalid syntax: eaten
    } else if (name === '') {
      out += '$';
    } else {
      out += lookup(name);
    }
    j += width;
    i = j + 1;
  }
  return out + value.slice(i);
}

/**
 * The value a job variable reference resolves to (upstream `Variables.Get`): the last variable with that key
 * wins; a file variable resolves to its file path under `RUNNER_TEMP_PROJECT_DIR`; `$$` resolves to `$`;
 * other special names and unknown names resolve to "".
 */
export function variableLookup(variables: readonly JobVariable[]): (name: string) => string {
  const last = new Map<string, JobVariable>();
  for (const v of variables) last.set(v.key, v);
  return (name) => {
    if (name === '$') return '$';
    if (SPECIAL.has(name)) return '';
    const v = last.get(name);
    if (v === undefined) return '';
    if (v.file) return posix.join(last.get('RUNNER_TEMP_PROJECT_DIR')?.value ?? '', v.key);
    return v.value;
  };
}

/**
 * Expands every non-raw variable against the whole list, in one pass (upstream `Variables.Expand`): a
 * reference resolves to the referenced variable's own unexpanded value, and may point at any variable of the
 * list, earlier or later. Raw variables are kept verbatim.
 */
export function expandVariables(variables: readonly JobVariable[]): JobVariable[] {
  const lookup = variableLookup(variables);
  return variables.map((v) => (v.raw ? v : { ...v, value: expandString(v.value, lookup) }));
}

/** The value of the last variable named `key` (file variables give their content), or "" when absent. */
export function variableValue(variables: readonly JobVariable[], key: string): string {
  for (let i = variables.length - 1; i >= 0; i--) {
    const v = variables[i];
    if (v !== undefined && v.key === key) return v.value;
  }
  return '';
}
