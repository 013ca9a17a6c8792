import { RunnerError } from '@fleetrunner/common';
import { pluginConfigObject } from '@fleetrunner/fleeting';

/** The validated `plugin_config` of the azure plugin (the keys of upstream fleeting-plugin-azure). */
export interface AzureConfig {
  /** Name of the Virtual Machine Scale Set. Required. */
  name: string;
  /** Subscription ID (a GUID). Required. */
  subscriptionId: string;
  /** Resource group of the scale set. Required. */
  resourceGroupName: string;
}

const KEYS: Record<string, keyof AzureConfig> = { name: 'name', subscription_id: 'subscriptionId', resource_group_name: 'resourceGroupName' };

/**
 * Validates `plugin_config`: every known key must be a non-empty string, all three are required. Throws an
 * `invalid_argument` RunnerError naming every offending key (joined with "; "). Unknown keys are not errors (Go
 * plugins ignore unknown JSON keys): each one adds a message to `warnings` for the caller to log.
 */
export function parseAzureConfig(raw: unknown, warnings: string[] = []): AzureConfig {
  const obj = pluginConfigObject(raw);
  const problems: string[] = [];
  const out: Partial<AzureConfig> = {};
  for (const [key, v] of Object.entries(obj)) {
    const field = KEYS[key];
    if (!field) {
      warnings.push(`plugin_config.${key}: unknown key, ignored (expected one of ${Object.keys(KEYS).join(', ')})`);
      continue;
    }
    if (typeof v !== 'string' || v.trim() === '') {
      problems.push(`plugin_config.${key}: expected a non-empty string, got ${JSON.stringify(v)}`);
      continue;
    }
    out[field] = v.trim();
  }
  const what = { name: 'the name of the scale set', subscription_id: 'the subscription ID', resource_group_name: 'the resource group of the scale set' } as const;
  for (const [key, field] of Object.entries(KEYS) as [keyof typeof what, keyof AzureConfig][]) {
    if (out[field] === undefined && !problems.some((p) => p.startsWith(`plugin_config.${key}:`))) problems.push(`plugin_config.${key}: required (${what[key]})`);
  }
  if (out.subscriptionId !== undefined && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(out.subscriptionId)) {
    problems.push(`plugin_config.subscription_id: expected a subscription ID (a GUID like "9b3c4602-cde2-4089-bed8-889e5a3e7102"), got ${JSON.stringify(out.subscriptionId)}`);
  }
  if (out.name !== undefined && !/^[A-Za-z0-9][-A-Za-z0-9_.]{0,63}$/.test(out.name)) {
    problems.push(`plugin_config.name: expected a scale set name (letters, digits, '-', '_', '.'; at most 64), got ${JSON.stringify(out.name)}`);
  }
  if (out.resourceGroupName !== undefined && !/^[-\w.()]{1,90}$/u.test(out.resourceGroupName)) {
    problems.push(`plugin_config.resource_group_name: expected a resource group name, got ${JSON.stringify(out.resourceGroupName)}`);
  }
  if (problems.length > 0) throw new RunnerError('invalid_argument', problems.join('; '), { details: { problems } });
  return out as AzureConfig;
}
