import { parseGoBool } from '@fleetrunner/common';
import { FEATURE_FLAG_DEFAULTS } from '@fleetrunner/config';
import type { JobVariable } from './types.js';
import { variableValue } from './expand.js';

/** Resolved feature flags: every known flag with its effective value. */
export type FeatureFlags = Readonly<Record<string, boolean>>;

/**
 * Resolves every flag of the one table (`FEATURE_FLAG_DEFAULTS` in @fleetrunner/config), each exported to every
 * job with its resolved value, as upstream does: `[runners.feature_flags]` (TOML) wins, then a parsable value among `variables`
 * (the last one with the key; runner `environment` and job variables, already expanded), then the default.
 * An unparsable variable value keeps the default and adds a warning naming the flag (not the value, which
 * could be a masked one).
 */
export function resolveFeatureFlags(
  variables: readonly JobVariable[],
  toml: Readonly<Record<string, boolean>> = {},
): { flags: FeatureFlags; warnings: string[] } {
  const flags: Record<string, boolean> = {};
  const warnings: string[] = [];
  for (const [name, def] of Object.entries(FEATURE_FLAG_DEFAULTS)) {
    const fromToml = toml[name];
    if (fromToml !== undefined) {
      flags[name] = fromToml;
      continue;
    }
    const raw = variableValue(variables, name);
    const parsed = raw === '' ? undefined : parseGoBool(raw);
    if (raw !== '' && parsed === undefined) {
      warnings.push(`${name}: could not parse feature flag, expected bool`);
    }
    flags[name] = parsed ?? def;
  }
  return { flags: Object.freeze(flags), warnings };
}

/** True when `name` is on in `flags` (unknown flags are off). */
export function isFlagOn(flags: FeatureFlags, name: string): boolean {
  return flags[name] === true;
}
