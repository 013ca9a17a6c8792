import { posix } from 'node:path';
import { expandGo, isGoSpecialVarName } from '@fleetrunner/common';
import type { JobVariable } from './types.js';

/**
 * Replaces `$NAME` and `${NAME}` in `value` with `lookup(NAME)` with Go's `os.Expand` rules (which upstream uses
 * for job variables); the one implementation is `expandGo` in @fleetrunner/common.
 */
export function expandString(value: string, lookup: (name: string) => string): string {
  return expandGo(value, lookup);
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
    if (isGoSpecialVarName(name)) return '';
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
