import { RunnerError } from '@fleetrunner/common';

/**
 * Turns a raw `plugin_config` (an object, JSON text or JSON bytes; absent or empty = `{}`) into a plain object for
 * a plugin to validate key by key. Throws `invalid_argument` when it is not a JSON object.
 */
export function pluginConfigObject(raw: unknown): Record<string, unknown> {
  let value = raw;
  if (value instanceof Uint8Array) value = new TextDecoder().decode(value);
  if (typeof value === 'string') {
    if (value.trim() === '') return {};
    try {
      value = JSON.parse(value) as unknown;
    } catch (err) {
      throw new RunnerError('invalid_argument', `plugin_config: expected a JSON object: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new RunnerError('invalid_argument', 'plugin_config: expected an object');
  return value as Record<string, unknown>;
}

/** The string keys of a plugin_config, for {@link readStringKeys}. */
export interface StringKeysSpec<T> {
  /** plugin_config key → field of the parsed config. */
  keys: Record<string, keyof T>;
  /** The keys that must be present, each with what it names (for the error: `required (the project ID)`). */
  required: Record<string, string>;
  /** Take the values trimmed. */
  trim?: boolean;
}

/** The fields read by {@link readStringKeys} and what is wrong so far, for the plugin's own checks to add to. */
export interface StringKeysRead<T> {
  values: Partial<T>;
  problems: string[];
}

/**
 * Reads a plugin_config whose known keys all take non-empty strings. A value of another type or a missing required
 * key is a problem naming the key. Unknown keys are not errors (Go plugins ignore unknown JSON keys, so a config
 * written for upstream or a fork keeps working): each one adds a message to `warnings` for the caller to log.
 * The plugin then checks the values' forms ({@link checkForm}) and ends with {@link throwConfigProblems}.
 */
export function readStringKeys<T>(raw: unknown, spec: StringKeysSpec<T>, warnings: string[]): StringKeysRead<T> {
  const problems: string[] = [];
  const values: Partial<T> = {};
  for (const [key, v] of Object.entries(pluginConfigObject(raw))) {
    const field = spec.keys[key];
    if (!field) {
      warnings.push(`plugin_config.${key}: unknown key, ignored (expected one of ${Object.keys(spec.keys).join(', ')})`);
      continue;
    }
    if (typeof v !== 'string' || v.trim() === '') {
      problems.push(`plugin_config.${key}: expected a non-empty string, got ${JSON.stringify(v)}`);
      continue;
    }
    values[field] = (spec.trim ? v.trim() : v) as T[keyof T];
  }
  for (const [key, what] of Object.entries(spec.required)) {
    const field = spec.keys[key]!;
    if (values[field] === undefined && !problems.some((p) => p.startsWith(`plugin_config.${key}:`))) problems.push(`plugin_config.${key}: required (${what})`);
  }
  return { values, problems };
}

/** Adds a problem when `value` is present and does not match `form`: `plugin_config.<key>: expected <expected>, got "<value>"<more>`. */
export function checkForm(problems: string[], key: string, value: string | undefined, form: RegExp, expected: string, more = ''): void {
  if (value !== undefined && !form.test(value)) problems.push(`plugin_config.${key}: expected ${expected}, got ${JSON.stringify(value)}${more}`);
}

/** Throws an `invalid_argument` RunnerError naming every problem (joined with "; ") when there is any. */
export function throwConfigProblems(problems: readonly string[]): void {
  if (problems.length > 0) throw new RunnerError('invalid_argument', problems.join('; '), { details: { problems } });
}
