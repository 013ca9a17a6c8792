import type { DeepPartial } from './deep-partial.js';
import { expandEnv, type Env } from './env-expand.js';
import { readAutoscaler } from './schema-autoscaler.js';
import { readCache } from './schema-cache.js';
import type { TableReader } from './table-reader.js';
import type { RunnerEntry } from './types.js';

const SHELLS = ['bash', 'sh', 'pwsh', 'powershell'] as const;

/** Sections GitLab Runner knows that belong to other executors or features fleetrunner does not have. */
const OTHER_EXECUTOR_SECTIONS: readonly string[] = ['docker', 'ssh', 'parallels', 'virtualbox', 'machine', 'kubernetes', 'custom'];

/** GitLab Runner's other executors: a runner of one of them is skipped with one warning, not rejected. */
export const OTHER_EXECUTORS: readonly string[] = ['shell', 'docker', 'docker-windows', 'docker+machine', 'docker-autoscaler', 'kubernetes', 'custom', 'parallels', 'virtualbox', 'ssh'];

/** Schema of one `[[runners]]` entry. `url` and `token` get `$VAR` expansion from `env`. */
export function readRunner(r: TableReader, env: Env): DeepPartial<RunnerEntry> {
  const executor = r.string('executor');
  if (executor !== undefined && OTHER_EXECUTORS.includes(executor)) {
    // A host keeps its docker or shell runners beside the instance ones: this one is left to another runner process.
    r.warn('executor', `the ${executor} executor is not run here; this runner is skipped and takes no jobs (only "instance" runners run)`);
    const skipped: DeepPartial<RunnerEntry> = { name: r.string('name'), url: r.string('url'), token: r.string('token'), id: r.int('id', { min: 0 }), executor };
    r.skipRest();
    return skipped;
  }
  const out: DeepPartial<RunnerEntry> = {
    ...readIdentity(r, env),
    executor,
    limit: r.int('limit', { min: 0 }),
    requestConcurrency: r.int('request_concurrency', { min: 0 }),
    strictCheckInterval: r.bool('strict_check_interval'),
    outputLimitKb: r.int('output_limit', { min: 0 }),
    shell: r.choice('shell', SHELLS),
    buildsDir: r.string('builds_dir'),
    cacheDir: r.string('cache_dir'),
    environment: readEnvironment(r),
    preGetSourcesScript: r.string('pre_get_sources_script'),
    postGetSourcesScript: r.string('post_get_sources_script'),
    preBuildScript: r.string('pre_build_script'),
    postBuildScript: r.string('post_build_script'),
    cloneUrl: r.string('clone_url'),
    prepareTimeoutMs: r.duration('prepare_timeout', { min: 0 }),
    getSourcesTimeoutMs: r.duration('get_sources_timeout', { min: 0 }),
    unhealthyRequestsLimit: r.int('unhealthy_requests_limit', { min: 0 }),
    unhealthyIntervalMs: r.duration('unhealthy_interval', { min: 0 }),
    jobStatusFinalUpdateRetryLimit: r.int('job_status_final_update_retry_limit', { min: 0 }),
    debugTraceDisabled: r.bool('debug_trace_disabled'),
    cleanGitConfig: r.bool('clean_git_config'),
    safeDirectoryCheckout: r.bool('safe_directory_checkout'),
    useSlotCgroups: r.bool('use_slot_cgroups'),
    slotCgroupTemplate: r.string('slot_cgroup_template'),
    labels: r.map('labels', 'a string', (n) => (n.type === 'string' ? n.value : undefined)),
    featureFlags: r.map('feature_flags', 'a boolean', (n) => (n.type === 'boolean' ? n.value : undefined)),
  };
  readSections(r, out);
  for (const key of OTHER_EXECUTOR_SECTIONS) r.ignore(key, `[runners.${key}] configures another executor`);
  r.ignore('pre_clone_script', 'removed upstream; use pre_get_sources_script');
  r.ignore('post_clone_script', 'removed upstream; use post_get_sources_script');
  r.ignore('referees', 'metrics referees are not supported');
  r.ignore('monitoring', 'per-runner monitoring is not supported');
  r.ignore('experimental', 'experimental runner features are not supported');
  r.ignore('proxy_exec', 'proxy execution is not supported');
  r.ignore('step_runner_image', 'applies to container executors only');
  r.finish();
  return out;
}

function readIdentity(r: TableReader, env: Env): DeepPartial<RunnerEntry> {
  return {
    name: r.string('name'),
    url: expanded(r, 'url', env),
    id: r.int('id', { min: 0 }),
    token: expanded(r, 'token', env),
    tokenObtainedAt: r.datetime('token_obtained_at'),
    tokenExpiresAt: r.datetime('token_expires_at'),
    tlsCaFile: r.string('tls-ca-file'),
    tlsCertFile: r.string('tls-cert-file'),
    tlsKeyFile: r.string('tls-key-file'),
  };
}

function readSections(r: TableReader, out: DeepPartial<RunnerEntry>): void {
  const custom = r.section('custom_build_dir');
  if (custom) {
    out.customBuildDirEnabled = custom.bool('enabled');
    custom.finish();
  }
  const cache = r.section('cache');
  if (cache) out.cache = readCache(cache);
  const artifact = r.section('artifact');
  if (artifact) {
    out.artifact = {
      uploadTimeoutMs: artifact.duration('upload_timeout', { min: 0 }),
      responseHeaderTimeoutMs: artifact.duration('response_header_timeout', { min: 0 }),
    };
    artifact.finish();
  }
  const instance = r.section('instance');
  if (instance) {
    out.instance = { allowedImages: instance.stringArray('allowed_images'), useCommonBuildDir: instance.bool('use_common_build_dir') };
    instance.finish();
  }
  const autoscaler = r.section('autoscaler');
  if (autoscaler) out.autoscaler = readAutoscaler(autoscaler);
}

/** `environment`: `KEY=VALUE` strings; upstream silently drops the others, we say so. */
function readEnvironment(r: TableReader): string[] | undefined {
  const list = r.stringArray('environment');
  if (list === undefined) return undefined;
  return list.filter((entry, i) => {
    if (entry.includes('=')) return true;
    r.sink.warn(`${r.pathOf('environment')}[${i}]`, `expected KEY=VALUE, got ${JSON.stringify(entry)}; dropped`);
    return false;
  });
}

/** A string with `$VAR`/`${VAR}` expanded from `env`; unset variables are warned about. */
function expanded(r: TableReader, key: string, env: Env): string | undefined {
  const raw = r.string(key);
  if (raw === undefined) return undefined;
  const { value, missing, malformed } = expandEnv(raw, env);
  for (const name of missing) r.warn(key, `environment variable ${name} is not set; it expands to ""`);
  if (malformed) r.warn(key, 'malformed ${…} reference; those characters are dropped');
  return value;
}
