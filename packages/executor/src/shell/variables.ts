import { posix } from 'node:path';
import type { JobPaths, JobVariable } from './types.js';
import { expandString, expandVariables } from './expand.js';
import { FEATURE_FLAG_DEFAULTS } from '@fleetrunner/config';
import { resolveFeatureFlags, type FeatureFlags } from './feature-flags.js';

/** Name of the dotenv file under the temp dir that `GITLAB_ENV` points at (upstream `gitlab_runner_env`). */
export const GITLAB_ENV_FILE = 'gitlab_runner_env';
/** Default `slot_cgroup_template`. */
export const DEFAULT_SLOT_CGROUP_TEMPLATE = 'gitlab-runner/slot-${slot}';

/** Runner build identity exported as CI_RUNNER_VERSION / CI_RUNNER_REVISION / CI_RUNNER_EXECUTABLE_ARCH. */
export interface RunnerVersionInfo {
  readonly version: string;
  readonly revision: string;
  /** Go-style OS name; default `linux`. */
  readonly os?: string;
  /** Go-style architecture; default `amd64`. */
  readonly arch?: string;
}

/** Inputs of {@link buildJobVariables}. */
export interface BuildJobVariablesInput {
  /** Payload `variables[]` (FF_* keys are taken out: resolved flags are exported instead). */
  readonly jobVariables: readonly JobVariable[];
  /** `[[runners]] environment` entries `KEY=VALUE`; entries without `=` are dropped. */
  readonly runnerEnvironment?: readonly string[];
  /** `[runners.feature_flags]`: wins over job variables. */
  readonly featureFlags?: Readonly<Record<string, boolean>>;
  readonly paths: JobPaths;
  /** CI_CONCURRENT_ID: lowest free per-runner job slot. */
  readonly concurrentId: number;
  /** CI_CONCURRENT_PROJECT_ID: lowest free per-project slot. */
  readonly concurrentProjectId: number;
  /** CI_RUNNER_SHORT_TOKEN. */
  readonly shortToken: string;
  /** CI_JOB_TIMEOUT in seconds (the job timeout the runner enforces). */
  readonly jobTimeoutSeconds: number;
  readonly runnerVersion: RunnerVersionInfo;
  /** CI_JOB_IMAGE when the job names an image. */
  readonly jobImage?: string;
  /** PEM texts exported as file variables CI_SERVER_TLS_CA_FILE / _CERT_FILE / _KEY_FILE. */
  readonly tls?: { readonly caChain?: string; readonly authCert?: string; readonly authKey?: string };
  /** `use_slot_cgroups`, `slot_cgroup_template` and the acquisition's slot (< 0: none). */
  readonly slotCgroup?: { readonly enabled: boolean; readonly template?: string; readonly slot: number };
  /** CI_SHARED_ENVIRONMENT=true (default, the instance executor) or CI_DISPOSABLE_ENVIRONMENT=true. */
  readonly sharedEnvironment?: boolean;
}

/** The job's final environment. */
export interface JobVariables {
  /** In precedence order (later wins), `$VAR`-expanded; export them in this order. */
  readonly variables: readonly JobVariable[];
  /** Every known flag with its resolved value. */
  readonly featureFlags: FeatureFlags;
  /** Lines to show in the job log as warnings (never holding variable values). */
  readonly warnings: readonly string[];
}

function internal(key: string, value: string, extra: Partial<JobVariable> = {}): JobVariable {
  return { key, value, public: true, file: false, masked: false, raw: false, internal: true, ...extra };
}

/**
 * Expands `${slot}` / `$slot` in a `slot_cgroup_template` to the slot number; any other `$name` expands to
 * "" (upstream `expandSlotTemplate`, Go `os.Expand`).
 */
export function expandSlotTemplate(template: string, slot: number): string {
  return expandString(template, (name) => (name === 'slot' ? String(slot) : ''));
}

/** Parses `[[runners]] environment` entries (`KEY=VALUE`, split at the first `=`; others dropped). */
export function parseRunnerEnvironment(entries: readonly string[]): JobVariable[] {
  const out: JobVariable[] = [];
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq < 0) continue;
    out.push({ key: entry.slice(0, eq), value: entry.slice(eq + 1), public: false, file: false, masked: false, raw: false, internal: true });
  }
  return out;
}

function beforeJob(input: BuildJobVariablesInput): JobVariable[] {
  const vars: JobVariable[] = [];
  if (input.jobImage) vars.push(internal('CI_JOB_IMAGE', input.jobImage));
  vars.push(internal('CI_RUNNER_SHORT_TOKEN', input.shortToken));
  vars.push(...parseRunnerEnvironment(input.runnerEnvironment ?? []));
  vars.push(
    internal('CI_BUILDS_DIR', input.paths.buildsDir),
    internal('CI_PROJECT_DIR', input.paths.projectDir),
    internal('CI_CONCURRENT_ID', String(input.concurrentId)),
    internal('CI_CONCURRENT_PROJECT_ID', String(input.concurrentProjectId)),
    internal('CI_SERVER', 'yes'),
    internal('CI_JOB_STATUS', 'running'),
    internal('CI_JOB_TIMEOUT', String(Math.trunc(input.jobTimeoutSeconds))),
  );
  const tls = input.tls ?? {};
  if (tls.caChain) vars.push(internal('CI_SERVER_TLS_CA_FILE', tls.caChain, { file: true }));
  if (tls.authCert && tls.authKey) {
    vars.push(internal('CI_SERVER_TLS_CERT_FILE', tls.authCert, { file: true }));
    vars.push(internal('CI_SERVER_TLS_KEY_FILE', tls.authKey, { file: true, public: false }));
  }
  return vars;
}

function afterJob(input: BuildJobVariablesInput): JobVariable[] {
  const v = input.runnerVersion;
  return [
    internal(input.sharedEnvironment === false ? 'CI_DISPOSABLE_ENVIRONMENT' : 'CI_SHARED_ENVIRONMENT', 'true'),
    internal('CI_RUNNER_VERSION', v.version),
    internal('CI_RUNNER_REVISION', v.revision),
    internal('CI_RUNNER_EXECUTABLE_ARCH', `${v.os ?? 'linux'}/${v.arch ?? 'amd64'}`),
    internal('RUNNER_TEMP_PROJECT_DIR', input.paths.tempDir),
    internal('GITLAB_ENV', posix.join(input.paths.tempDir, GITLAB_ENV_FILE)),
  ];
}

/**
 * Builds the final job variables in upstream's precedence order (`GetAllVariables`): resolved feature flags →
 * runner base variables (CI_JOB_IMAGE, CI_RUNNER_SHORT_TOKEN, `environment`, CI_BUILDS_DIR, CI_PROJECT_DIR,
 * CI_CONCURRENT_ID, CI_CONCURRENT_PROJECT_ID, CI_SERVER, CI_JOB_STATUS=running, CI_JOB_TIMEOUT, TLS files) →
 * payload variables without FF_* keys, then GITLAB_RUNNER_SLOT_CGROUP → CI_SHARED_ENVIRONMENT, CI_RUNNER_VERSION,
 * CI_RUNNER_REVISION, CI_RUNNER_EXECUTABLE_ARCH, RUNNER_TEMP_PROJECT_DIR, GITLAB_ENV. Non-raw values are then
 * expanded once against the whole list (see {@link expandVariables}).
 */
export function buildJobVariables(input: BuildJobVariablesInput): JobVariables {
  const jobVars = input.jobVariables.filter((v) => !(v.key in FEATURE_FLAG_DEFAULTS));
  const slot = input.slotCgroup;
  if (slot?.enabled && slot.slot >= 0) {
    jobVars.push({
      ...internal('GITLAB_RUNNER_SLOT_CGROUP', expandSlotTemplate(slot.template || DEFAULT_SLOT_CGROUP_TEMPLATE, slot.slot)),
      internal: false,
    });
  }

  // Flags resolve against defaults, base variables, all job variables (FF keys included) and post variables.
  const forFlags = expandVariables([...beforeJob(input), ...input.jobVariables, ...afterJob(input)]);
  const { flags, warnings } = resolveFeatureFlags(forFlags, input.featureFlags);
  const flagVars = Object.entries(flags).map(([k, v]) => internal(k, String(v)));

  const variables = expandVariables([...flagVars, ...beforeJob(input), ...jobVars, ...afterJob(input)]);
  return { variables, featureFlags: flags, warnings };
}
