// The job as domain code sees it: the validated, camelCased form of the `POST jobs/request` 201 body (spec §4.4).
// Absent wire fields take Go's zero values, as GitLab Runner decodes them.

/** Git reference kind of the pipeline. */
export type RefType = 'branch' | 'tag';
/** When a step, artifact or cache entry applies. */
export type When = 'on_success' | 'on_failure' | 'always';
/** Cache policy. */
export type CachePolicy = 'pull' | 'push' | 'pull-push';
/** Artifact archive format. */
export type ArtifactFormat = 'zip' | 'gzip' | 'raw' | 'zipzstd' | 'tarzstd';
/** Hook names the runner runs around get_sources. */
export type HookName = 'pre_get_sources_script' | 'post_get_sources_script';

/** `job_info`: facts about the job and its project, for variables and metrics. */
export interface JobInfo {
  name: string;
  stage: string;
  pipelineId: number;
  projectId: number;
  projectName: string;
  projectFullPath: string;
  namespaceId: number;
  rootNamespaceId: number;
  organizationId: number;
  instanceId: string;
  instanceUuid: string;
  userId: number;
  scopedUserId?: number;
  timeInQueueSeconds: number;
  projectJobsRunningOnInstanceRunnersCount: string;
  queueSize: number;
  queueDepth: number;
}

/** `git_info`: what to check out. `repoUrl` embeds the job token (`gitlab-ci-token:<token>@`): treat as secret. */
export interface GitInfo {
  repoUrl: string;
  repoObjectFormat: string;
  ref: string;
  sha: string;
  beforeSha: string;
  /** Empty when GitLab did not say. */
  refType: RefType | '';
  refspecs: string[];
  /** Shallow clone depth; 0 = full clone. */
  depth: number;
  protected?: boolean;
}

/** `runner_info`. */
export interface JobRunnerInfo {
  /** Job timeout in seconds; ≤ 0 means the default of 7200 s. */
  timeoutSeconds: number;
  uuid: string;
}

/** One job input (`inputs[]`). */
export interface JobInput {
  key: string;
  type: 'string' | 'number' | 'boolean' | 'array' | 'struct';
  content: unknown;
  sensitive: boolean;
}

/** One CI/CD variable. */
export interface JobVariable {
  key: string;
  value: string;
  public: boolean;
  /** Written to a file whose path becomes the variable's value. */
  file: boolean;
  /** Masked in the job log. */
  masked: boolean;
  /** Not expanded. */
  raw: boolean;
}

/** One script step (`script`, `after_script`, `release`, …). */
export interface JobStep {
  name: string;
  script: string[];
  /** Seconds; 0 = the job timeout. */
  timeoutSeconds: number;
  when: When;
  allowFailure: boolean;
}

/** Image executor options GitLab Runner knows (others make the job fail before it runs). */
export interface ImageExecutorOptions {
  docker?: { platform?: string; user?: string };
  kubernetes?: { user?: string };
}

/** `image` or one of `services[]`. */
export interface JobImage {
  name: string;
  alias: string;
  command: string[];
  entrypoint: string[];
  ports: { number: number; protocol: string; name: string }[];
  variables: JobVariable[];
  pullPolicy: string[];
  executorOptions: ImageExecutorOptions;
}

/** One `artifacts[]` entry. */
export interface ArtifactSpec {
  name: string;
  untracked: boolean;
  paths: string[];
  exclude: string[];
  when: When;
  /** `archive`, `junit`, `dotenv`, … (GitLab's `artifact_type`). */
  type: string;
  format: ArtifactFormat;
  /** GitLab duration text (`1 week`), empty = instance default. */
  expireIn: string;
}

/** One `cache[]` entry. */
export interface CacheSpec {
  key: string;
  untracked: boolean;
  policy: CachePolicy;
  paths: string[];
  when: When;
  fallbackKeys: string[];
}

/** Registry credentials (`credentials[]`). */
export interface RegistryCredentials {
  type: string;
  url: string;
  username: string;
  password: string;
}

/** A job whose artifacts this job downloads (`dependencies[]`). */
export interface JobDependency {
  id: number;
  /** The dependency's job token (used with `JOB-TOKEN` to download). */
  token: string;
  name: string;
  /** Absent when the dependency has no artifacts archive. */
  artifactsFile?: { filename: string; size: number };
}

/** `features`: what GitLab supports for this job. */
export interface GitLabFeatures {
  traceSections: boolean;
  /** Extra token prefixes to mask in the log. */
  tokenMaskPrefixes: string[];
  /** Failure reasons GitLab accepts in the final update. */
  failureReasons: string[];
}

/** One external secret: provider settings kept as GitLab sent them (`vault`, `gcp_secret_manager`, …). */
export interface SecretSpec {
  providers: Record<string, Readonly<Record<string, unknown>>>;
  /** Expose as a file variable; absent = provider default (file). */
  file?: boolean;
}

/** A job hook (`hooks[]`). */
export interface JobHook {
  name: HookName;
  script: string[];
}

/** `policy_options` of a security-policy job. */
export interface PolicyOptions {
  executionPolicyJob: boolean;
  policyName: string;
  variableOverrideAllowed?: boolean;
  variableOverrideExceptions?: string[];
}

/** `suspend_options`. */
export interface SuspendOptions {
  suspendOnSuccess: boolean;
  suspendOnFailure: boolean;
  runtimeEnvironmentKey: string;
}

/** A job as handed out by GitLab, validated. */
export interface JobPayload {
  id: number;
  /** The job token: authenticates trace, update and artifact calls. Secret. */
  token: string;
  allowGitFetch: boolean;
  jobInfo: JobInfo;
  gitInfo: GitInfo;
  runnerInfo: JobRunnerInfo;
  inputs: JobInput[];
  variables: JobVariable[];
  steps: JobStep[];
  /** Absent when the job names no image. */
  image?: JobImage;
  services: JobImage[];
  artifacts: ArtifactSpec[];
  cache: CacheSpec[];
  credentials: RegistryCredentials[];
  dependencies: JobDependency[];
  features: GitLabFeatures;
  secrets: Record<string, SecretSpec>;
  hooks: JobHook[];
  /** The `run` keyword's step list, decoded from its JSON string; absent when not used. */
  run?: unknown[];
  policyOptions?: PolicyOptions;
  suspendOptions?: SuspendOptions;
}

/** The credentials that scope job calls: the job id and its token. */
export interface JobCredentials {
  id: number;
  token: string;
}
