// The runner API's JSON shapes exactly as they travel (snake_case), from GitLab Runner's common/network.go and
// common/spec/spec.go. Domain code uses the camelCase types of job-payload.ts; these stay at the boundary (the
// client and the GitLab stand-in).

/** `info.features`: what this runner supports. */
export interface WireFeaturesInfo {
  variables?: boolean;
  image?: boolean;
  services?: boolean;
  artifacts?: boolean;
  cache?: boolean;
  fallback_cache_keys?: boolean;
  shared?: boolean;
  upload_multiple_artifacts?: boolean;
  upload_raw_artifacts?: boolean;
  session?: boolean;
  terminal?: boolean;
  refspecs?: boolean;
  masking?: boolean;
  proxy?: boolean;
  raw_variables?: boolean;
  artifacts_exclude?: boolean;
  multi_build_steps?: boolean;
  trace_reset?: boolean;
  trace_checksum?: boolean;
  trace_size?: boolean;
  vault_secrets?: boolean;
  cancelable?: boolean;
  return_exit_code?: boolean;
  service_variables?: boolean;
  service_multiple_aliases?: boolean;
  image_executor_opts?: boolean;
  service_executor_opts?: boolean;
  cancel_gracefully?: boolean;
  native_steps_integration?: boolean;
  two_phase_job_commit?: boolean;
  job_inputs?: boolean;
}

/** `info`: the runner's version and capabilities, sent with every runner-scoped call. */
export interface WireVersionInfo {
  name?: string;
  version?: string;
  revision?: string;
  platform?: string;
  architecture?: string;
  executor?: string;
  shell?: string;
  labels?: Record<string, string>;
  features: WireFeaturesInfo;
  config?: { gpus?: string };
}

/** `POST jobs/request` body. */
export interface WireJobRequest {
  info?: WireVersionInfo;
  token: string;
  system_id?: string;
  last_update?: string;
  session?: { url?: string; certificate?: string; authorization?: string };
}

/** `PUT jobs/:id` body. */
export interface WireUpdateJobRequest {
  info?: WireVersionInfo;
  token: string;
  state: 'pending' | 'running' | 'success' | 'failed';
  failure_reason?: string;
  /** Deprecated duplicate of `output.checksum`; still sent. */
  checksum?: string;
  output?: { checksum?: string; bytesize?: number };
  exit_code?: number;
  runtime_environment_key?: string;
}

/** `POST runners/verify` body. */
export interface WireVerifyRunnerRequest {
  token: string;
  system_id?: string;
  info?: WireVersionInfo;
}

/** Body of 200 `runners/verify`, 201 `runners` and 201 `runners/reset_authentication_token`. */
export interface WireRunnerCredentialsResponse {
  id?: number;
  token?: string;
  /** RFC 3339, or null/absent when the token does not expire. */
  token_expires_at?: string | null;
}

/** `POST runners` (legacy registration) body. */
export interface WireRegisterRunnerRequest {
  token: string;
  description?: string;
  maintenance_note?: string;
  tag_list?: string;
  run_untagged?: boolean;
  locked?: boolean;
  access_level?: string;
  maximum_timeout?: number;
  paused?: boolean;
  info?: WireVersionInfo;
}

/** One CI/CD variable of a job. */
export interface WireVariable {
  key: string;
  value?: string;
  public?: boolean;
  file?: boolean;
  masked?: boolean;
  raw?: boolean;
}

/** One script step. */
export interface WireStep {
  name: string;
  script?: string[];
  timeout?: number;
  when?: string;
  allow_failure?: boolean;
}

/** `image` / `services[]`. */
export interface WireImage {
  name?: string;
  alias?: string;
  command?: string[];
  entrypoint?: string[];
  ports?: { number?: number; protocol?: string; name?: string }[];
  variables?: WireVariable[];
  pull_policy?: string[];
  executor_opts?: Record<string, unknown>;
}

/** `artifacts[]`. */
export interface WireArtifact {
  name?: string;
  untracked?: boolean;
  paths?: string[];
  exclude?: string[];
  when?: string;
  artifact_type?: string;
  artifact_format?: string;
  expire_in?: string;
}

/** `cache[]`. */
export interface WireCache {
  key?: string;
  untracked?: boolean;
  policy?: string;
  paths?: string[];
  when?: string;
  fallback_keys?: string[];
}

/** `dependencies[]`: a job whose artifacts this job downloads. */
export interface WireDependency {
  id: number;
  token: string;
  name?: string;
  artifacts_file?: { filename?: string; size?: number };
}

/** The 201 body of `POST jobs/request`. */
export interface WireJobResponse {
  id: number;
  token: string;
  allow_git_fetch?: boolean;
  job_info?: {
    name?: string;
    stage?: string;
    pipeline_id?: number;
    project_id?: number;
    project_name?: string;
    project_full_path?: string;
    namespace_id?: number;
    root_namespace_id?: number;
    organization_id?: number;
    instance_id?: string;
    instance_uuid?: string;
    user_id?: number;
    scoped_user_id?: number;
    time_in_queue_seconds?: number;
    project_jobs_running_on_instance_runners_count?: string;
    queue_size?: number;
    queue_depth?: number;
  };
  git_info?: {
    repo_url?: string;
    repo_object_format?: string;
    ref?: string;
    sha?: string;
    before_sha?: string;
    ref_type?: string;
    refspecs?: string[];
    depth?: number;
    protected?: boolean | null;
  };
  runner_info?: { uuid?: string; timeout?: number };
  inputs?: { key: string; value: { type: string; content: unknown; sensitive?: boolean } }[];
  variables?: WireVariable[];
  steps?: WireStep[];
  image?: WireImage;
  services?: WireImage[];
  artifacts?: WireArtifact[];
  cache?: WireCache[];
  credentials?: { type?: string; url?: string; username?: string; password?: string }[];
  dependencies?: WireDependency[];
  features?: { trace_sections?: boolean; token_mask_prefixes?: string[]; failure_reasons?: string[] };
  secrets?: Record<string, Record<string, unknown>>;
  hooks?: { name: string; script?: string[] }[];
  /** A JSON string that encodes the step list of the `run` keyword. */
  run?: string;
  policy_options?: {
    execution_policy_job?: boolean;
    policy_name?: string;
    policy_variables_override_allowed?: boolean;
    policy_variables_override_exceptions?: string[];
  };
  suspend_options?: { suspend_on_success?: boolean; suspend_on_failure?: boolean; runtime_environment_key?: string };
}
