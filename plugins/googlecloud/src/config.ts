import { checkForm, readStringKeys, throwConfigProblems } from '@fleetrunner/fleeting';

/** The validated `plugin_config` of the googlecloud plugin (the keys of upstream fleeting-plugin-googlecloud). */
export interface GceConfig {
  /** Name of the managed instance group. Required. */
  name: string;
  /** Project ID. Required. */
  project: string;
  /** Zone of the group, e.g. `europe-west1-c` (zonal groups only). Required. */
  zone: string;
  /**
   * Credentials file (a service account key, `authorized_user` or `external_account` JSON). Absent: Application
   * Default Credentials (`GOOGLE_APPLICATION_CREDENTIALS`, `~/.config/gcloud/application_default_credentials.json`,
   * then the metadata server).
   */
  credentialsFile?: string;
}

const KEYS: Record<string, keyof GceConfig> = { name: 'name', project: 'project', zone: 'zone', credentials_file: 'credentialsFile' };
const REQUIRED = { name: 'the name of the managed instance group', project: 'the project ID', zone: 'the zone of the group, e.g. "europe-west1-c"' };

/**
 * Validates `plugin_config`: every known key must be a non-empty string; `name`, `project` and `zone` are required.
 * Throws an `invalid_argument` RunnerError naming every offending key (joined with "; "). Unknown keys are not
 * errors (Go plugins ignore unknown JSON keys): each one adds a message to `warnings` for the caller to log.
 */
export function parseGceConfig(raw: unknown, warnings: string[] = []): GceConfig {
  const { values: out, problems } = readStringKeys<GceConfig>(raw, { keys: KEYS, required: REQUIRED }, warnings);
  checkForm(problems, 'name', out.name, /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/, 'an instance group name (lowercase letters, digits and hyphens, starting with a letter)');
  checkForm(problems, 'project', out.project, /^([a-z0-9.-]+:)?[a-z][-a-z0-9]{4,28}[a-z0-9]$/, 'a project ID like "my-project-123"');
  const region = out.zone !== undefined && /^[a-z]+-[a-z]+\d+$/.test(out.zone) ? ` (that is a region; only zonal groups are supported, name the zone such as "${out.zone}-b")` : '';
  checkForm(problems, 'zone', out.zone, /^[a-z]+-[a-z]+\d+-[a-z]$/, 'a zone like "europe-west1-c"', region);
  throwConfigProblems(problems);
  return out as GceConfig;
}
