import { checkForm, readStringKeys, throwConfigProblems } from '@fleetrunner/fleeting';

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
const REQUIRED = { name: 'the name of the scale set', subscription_id: 'the subscription ID', resource_group_name: 'the resource group of the scale set' };

/**
 * Validates `plugin_config`: every known key must be a non-empty string (taken trimmed), all three are required.
 * Throws an `invalid_argument` RunnerError naming every offending key (joined with "; "). Unknown keys are not
 * errors (Go plugins ignore unknown JSON keys): each one adds a message to `warnings` for the caller to log.
 */
export function parseAzureConfig(raw: unknown, warnings: string[] = []): AzureConfig {
  const { values: out, problems } = readStringKeys<AzureConfig>(raw, { keys: KEYS, required: REQUIRED, trim: true }, warnings);
  const guid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  checkForm(problems, 'subscription_id', out.subscriptionId, guid, 'a subscription ID (a GUID like "9b3c4602-cde2-4089-bed8-889e5a3e7102")');
  checkForm(problems, 'name', out.name, /^[A-Za-z0-9][-A-Za-z0-9_.]{0,63}$/, "a scale set name (letters, digits, '-', '_', '.'; at most 64)");
  checkForm(problems, 'resource_group_name', out.resourceGroupName, /^[-\w.()]{1,90}$/u, 'a resource group name');
  throwConfigProblems(problems);
  return out as AzureConfig;
}
