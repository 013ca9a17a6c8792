import { RunnerError } from '@fleetrunner/common';
import { pluginConfigObject } from '@fleetrunner/fleeting';

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

/**
 * Validates `plugin_config`: every known key must be a non-empty string; `name`, `project` and `zone` are required.
 * Throws an `invalid_argument` RunnerError naming every offending key (joined with "; "). Unknown keys are not
 * errors (Go plugins ignore unknown JSON keys): each one adds a message to `warnings` for the caller to log.
 */
export function parseGceConfig(raw: unknown, warnings: string[] = []): GceConfig {
  const obj = pluginConfigObject(raw);
  const problems: string[] = [];
  const out: Partial<GceConfig> = {};
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
  const what = { name: 'the name of the managed instance group', project: 'the project ID', zone: 'the zone of the group, e.g. "europe-west1-c"' } as const;
  for (const k of ['name', 'project', 'zone'] as const) {
    if (out[k] === undefined && !problems.some((p) => p.startsWith(`plugin_config.${k}:`))) problems.push(`plugin_config.${k}: required (${what[k]})`);
  }
  if (out.name !== undefined && !/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/.test(out.name)) {
    problems.push(`plugin_config.name: expected an instance group name (lowercase letters, digits and hyphens, starting with a letter), got ${JSON.stringify(out.name)}`);
  }
  if (out.project !== undefined && !/^([a-z0-9.-]+:)?[a-z][-a-z0-9]{4,28}[a-z0-9]$/.test(out.project)) {
    problems.push(`plugin_config.project: expected a project ID like "my-project-123", got ${JSON.stringify(out.project)}`);
  }
  if (out.zone !== undefined && !/^[a-z]+-[a-z]+\d+-[a-z]$/.test(out.zone)) {
    const region = /^[a-z]+-[a-z]+\d+$/.test(out.zone) ? ' (that is a region; only zonal groups are supported, name the zone such as "' + out.zone + '-b")' : '';
    problems.push(`plugin_config.zone: expected a zone like "europe-west1-c", got ${JSON.stringify(out.zone)}${region}`);
  }
  if (problems.length > 0) throw new RunnerError('invalid_argument', problems.join('; '), { details: { problems } });
  return out as GceConfig;
}
