import type { wire } from '@fleetrunner/gitlab';

/** What a test gives {@link GitLabStandin.enqueueJob}: any payload field, plus shorthands. */
export interface JobSpec extends Partial<Omit<wire.WireJobResponse, 'id' | 'token'>> {
  /** A repository added with `addGitRepo`: fills `git_info` with its clone URL (job token embedded). */
  repo?: string;
  /** Shorthand for a single `script` step (and an empty `after_script`). */
  script?: string[];
  /** `job_info.name`. Default `test`. */
  name?: string;
  /** `job_info.stage`. Default `test`. */
  stage?: string;
  /** Only this runner token may pick the job up. */
  runnerToken?: string;
  /** Fields sent verbatim over the built payload (for malformed-payload tests). */
  rawOverride?: Record<string, unknown>;
}

/** Failure reasons a current GitLab lists in `features.failure_reasons`. */
export const GITLAB_FAILURE_REASONS = [
  'unknown_failure',
  'script_failure',
  'api_failure',
  'stuck_or_timeout_failure',
  'runner_system_failure',
  'missing_dependency_failure',
  'runner_unsupported',
  'stale_schedule',
  'job_execution_timeout',
  'archived_failure',
  'unmet_prerequisites',
  'scheduler_failure',
  'data_integrity_failure',
  'forward_deployment_failure',
  'user_blocked',
  'project_deleted',
  'ci_quota_exceeded',
  'pipeline_loop_detected',
  'no_matching_runner',
  'trace_size_exceeded',
  'builds_disabled',
  'environment_creation_failure',
  'deployment_rejected',
  'failed_outdated_deployment_job',
  'protected_environment_failure',
];

/** Token prefixes GitLab asks runners to mask. */
export const GITLAB_TOKEN_MASK_PREFIXES = ['glpat-', 'gloas-', 'gldt-', 'glrt-', 'glcbt-', 'glptt-', 'glft-', 'glimt-', 'glagent-', 'glsoat-'];

const PROJECT_ID = 42;

/** The clone URL GitLab puts in `git_info.repo_url`: `http://gitlab-ci-token:<job token>@host/<repo>.git`. */
export function cloneUrl(baseUrl: string, repo: string, token: string): string {
  const u = new URL(`${repo}.git`, baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  u.username = 'gitlab-ci-token';
  u.password = token;
  return u.toString();
}

/** Builds the complete 201 body GitLab would send for `spec`, with predefined CI variables first. */
export function buildPayload(id: number, token: string, baseUrl: string, spec: JobSpec, sha = ''): wire.WireJobResponse {
  const name = spec.name ?? spec.job_info?.name ?? 'test';
  const stage = spec.stage ?? spec.job_info?.stage ?? 'test';
  const repo = spec.repo ?? 'group/project';
  const host = new URL(baseUrl).host;
  const repoUrl = spec.git_info?.repo_url ?? cloneUrl(baseUrl, repo, token);
  const ref = spec.git_info?.ref ?? 'main';
  const commit = spec.git_info?.sha ?? sha;
  const predefined: wire.WireVariable[] = [
    { key: 'CI', value: 'true', public: true },
    { key: 'GITLAB_CI', value: 'true', public: true },
    { key: 'CI_SERVER_URL', value: baseUrl, public: true },
    { key: 'CI_SERVER_HOST', value: host.split(':')[0] ?? host, public: true },
    { key: 'CI_JOB_ID', value: String(id), public: true },
    { key: 'CI_JOB_NAME', value: name, public: true },
    { key: 'CI_JOB_STAGE', value: stage, public: true },
    { key: 'CI_JOB_TOKEN', value: token, public: false, masked: true },
    { key: 'CI_PIPELINE_ID', value: String(id * 10), public: true },
    { key: 'CI_PROJECT_ID', value: String(PROJECT_ID), public: true },
    { key: 'CI_PROJECT_NAME', value: repo.split('/').pop() ?? repo, public: true },
    { key: 'CI_PROJECT_PATH', value: repo, public: true },
    { key: 'CI_PROJECT_NAMESPACE', value: repo.split('/').slice(0, -1).join('/'), public: true },
    { key: 'CI_REPOSITORY_URL', value: repoUrl, public: false },
    { key: 'CI_COMMIT_SHA', value: commit, public: true },
    { key: 'CI_COMMIT_REF_NAME', value: ref, public: true },
  ];
  const steps: wire.WireStep[] = spec.steps ?? [
    { name: 'script', script: spec.script ?? ['echo hello'], timeout: 3600, when: 'on_success', allow_failure: false },
  ];
  return {
    id,
    token,
    allow_git_fetch: spec.allow_git_fetch ?? true,
    job_info: {
      name,
      stage,
      pipeline_id: id * 10,
      project_id: PROJECT_ID,
      project_name: repo.split('/').pop() ?? repo,
      project_full_path: repo,
      namespace_id: 7,
      root_namespace_id: 7,
      organization_id: 1,
      instance_id: 'standin',
      instance_uuid: '00000000-0000-4000-8000-000000000000',
      user_id: 1,
      time_in_queue_seconds: 0,
      project_jobs_running_on_instance_runners_count: '0',
      queue_size: 0,
      queue_depth: 0,
      ...spec.job_info,
    },
    git_info: {
      repo_url: repoUrl,
      repo_object_format: 'sha1',
      ref,
      sha: commit,
      before_sha: '0000000000000000000000000000000000000000',
      ref_type: 'branch',
      refspecs: [`+refs/heads/${ref}:refs/remotes/origin/${ref}`],
      depth: 20,
      ...spec.git_info,
    },
    runner_info: { timeout: 3600, ...spec.runner_info },
    inputs: spec.inputs ?? [],
    variables: [...predefined, ...(spec.variables ?? [])],
    steps,
    image: spec.image ?? { name: '' },
    services: spec.services ?? [],
    artifacts: spec.artifacts ?? [],
    cache: spec.cache ?? [],
    credentials: spec.credentials ?? [],
    dependencies: spec.dependencies ?? [],
    features: { trace_sections: true, token_mask_prefixes: GITLAB_TOKEN_MASK_PREFIXES, failure_reasons: GITLAB_FAILURE_REASONS, ...spec.features },
    secrets: spec.secrets ?? {},
    hooks: spec.hooks ?? [],
    ...(spec.run !== undefined ? { run: spec.run } : {}),
    ...(spec.policy_options ? { policy_options: spec.policy_options } : {}),
    ...(spec.suspend_options ? { suspend_options: spec.suspend_options } : {}),
  };
}
