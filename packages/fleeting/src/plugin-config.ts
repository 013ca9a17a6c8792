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
