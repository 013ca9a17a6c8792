import { RunnerError } from '@fleetrunner/common';
import { pluginConfigObject } from '@fleetrunner/fleeting';

/** The validated `plugin_config` of the AWS plugin (the keys of upstream fleeting-plugin-aws). */
export interface AwsConfig {
  /** Name of the Auto Scaling group. Required. */
  name: string;
  /** Region of the group; absent = the SDK environment (`AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's region). */
  region?: string;
  /** Named profile of the shared config and credentials files; absent = `AWS_PROFILE`, else `default`. */
  profile?: string;
  /** Shared config file; absent = `AWS_CONFIG_FILE`, else `~/.aws/config`. */
  configFile?: string;
  /** Shared credentials file; absent = `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`. */
  credentialsFile?: string;
}

const KEYS: Record<string, keyof AwsConfig> = {
  name: 'name',
  region: 'region',
  profile: 'profile',
  config_file: 'configFile',
  credentials_file: 'credentialsFile',
};

/**
 * Validates `plugin_config`: every known key must be a non-empty string, `name` is required. Throws an
 * `invalid_argument` RunnerError naming every offending key (joined with "; "). Unknown keys are not errors (Go
 * plugins ignore unknown JSON keys, so a config written for upstream or a fork keeps working): each one adds a
 * message to `warnings` for the caller to log.
 */
export function parseAwsConfig(raw: unknown, warnings: string[] = []): AwsConfig {
  const obj = pluginConfigObject(raw);
  const problems: string[] = [];
  const out: Partial<AwsConfig> = {};
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
    out[field] = v;
  }
  if (out.name === undefined && !problems.some((p) => p.startsWith('plugin_config.name:'))) {
    problems.push('plugin_config.name: required (the name of the Auto Scaling group)');
  }
  if (out.name !== undefined && !/^[\w.:/-]{1,255}$/.test(out.name)) {
    problems.push(`plugin_config.name: expected an Auto Scaling group name (1-255 letters, digits and ._:/-), got ${JSON.stringify(out.name)}`);
  }
  if (out.region !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(out.region)) {
    problems.push(`plugin_config.region: expected a region like "us-east-1", got ${JSON.stringify(out.region)}`);
  }
  if (problems.length > 0) throw new RunnerError('invalid_argument', problems.join('; '), { details: { problems } });
  return out as AwsConfig;
}
