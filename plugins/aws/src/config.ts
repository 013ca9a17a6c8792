import { checkForm, readStringKeys, throwConfigProblems } from '@fleetrunner/fleeting';

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
  const { values: out, problems } = readStringKeys<AwsConfig>(raw, { keys: KEYS, required: { name: 'the name of the Auto Scaling group' } }, warnings);
  checkForm(problems, 'name', out.name, /^[\w.:/-]{1,255}$/, 'an Auto Scaling group name (1-255 letters, digits and ._:/-)');
  checkForm(problems, 'region', out.region, /^[a-z]{2}(-[a-z]+)+-\d+$/, 'a region like "us-east-1"');
  throwConfigProblems(problems);
  return out as AwsConfig;
}
