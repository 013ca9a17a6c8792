// Domain types of a planned `.gitlab-ci.yml` pipeline. The payload-shaped pieces (steps, variables, image,
// artifacts, cache) have the shapes of @fleetrunner/gitlab's JobPayload parts, so they go into a payload as
// they are.

/** Where a value came from: the file and 1-based line. */
export interface SourcePos {
  file: string;
  line: number;
}

/** A problem that does not stop the pipeline (unknown key, ignored keyword, deprecated form). */
export interface PipelineWarning extends SourcePos {
  /** Dotted key path inside the file, e.g. `build.artifacts.reports`. */
  path: string;
  message: string;
}

/** One CI/CD variable as the runner receives it in a job payload. */
export interface JobVariable {
  key: string;
  value: string;
  /** true for predefined and `.gitlab-ci.yml` variables; false for variables given by the user. */
  public: boolean;
  file: false;
  masked: false;
  /** true when `expand: false` was set: the value is passed without `$VAR` expansion. */
  raw: boolean;
}

/** A step of a job payload: `script` (before_script + script) and, when defined, `after_script`. */
export interface JobStep {
  name: 'script' | 'after_script';
  script: string[];
  /** Seconds; the job timeout. */
  timeoutSeconds: number;
  when: 'on_success' | 'always';
  allowFailure: boolean;
}

/** The job image (`image:` string or `{ name, entrypoint, pull_policy, docker, kubernetes }`), payload-shaped. */
export interface JobImage {
  /** Not expanded (the runner expands variables in it). */
  name: string;
  alias: string;
  command: string[];
  entrypoint: string[];
  ports: Array<{ number: number; protocol: string; name: string }>;
  variables: JobVariable[];
  pullPolicy: string[];
  executorOptions: { docker?: { platform?: string; user?: string }; kubernetes?: { user?: string } };
}

/** When artifacts are uploaded / a cache is saved, relative to the job result. */
export type UploadWhen = 'on_success' | 'on_failure' | 'always';

/** One artifacts archive to create after the job, as in a job payload. */
export interface ArtifactSpec {
  /** Archive name; default `artifacts`. Not expanded (the runner does). */
  name: string;
  untracked: boolean;
  paths: string[];
  exclude: string[];
  when: UploadWhen;
  type: 'archive';
  format: 'zip';
  /** The `expire_in` text as written (`never`, `1 week`, …); empty when not set (the instance default). */
  expireIn: string;
}

/** One cache, as in a job payload. `key` is resolved for `key: { files }`; variables in it are not expanded. */
export interface CacheSpec {
  key: string;
  untracked: boolean;
  policy: 'pull' | 'push' | 'pull-push';
  paths: string[];
  when: UploadWhen;
  fallbackKeys: string[];
}

/** A resolved `needs` entry: the job instance name and whether its artifacts are downloaded. */
export interface JobNeed {
  name: string;
  artifacts: boolean;
  optional: boolean;
}

/** When a job runs relative to the jobs before it (`delayed` is planned as `on_success`). */
export type JobWhen = 'on_success' | 'on_failure' | 'always' | 'manual';

/** Automatic retry policy (`retry: N` or `{ max, when, exit_codes }`). */
export interface RetryPolicy {
  /** 0, 1 or 2 retries after the first attempt. */
  max: number;
  /** Failure reasons that are retried; `['always']` by default. */
  when: string[];
  /** When non-empty, only these exit codes are retried. */
  exit_codes: number[];
}

/** One job instance of the pipeline, ready to be handed to an executor. */
export interface PlannedJob {
  /** Instance name: `test`, `test 2/3` (parallel: N) or `deploy: [aws, app1]` (parallel: matrix). */
  name: string;
  /** The job key in the file (the name before parallel expansion). */
  baseName: string;
  /** Where the job is defined. */
  source: SourcePos;
  stage: string;
  /** Index of `stage` in `Pipeline.stages`. */
  stageIndex: number;
  /** 1-based index for parallel jobs (CI_NODE_INDEX); undefined otherwise. */
  nodeIndex?: number;
  /** CI_NODE_TOTAL: number of instances, 1 when not parallel. */
  nodeTotal: number;
  steps: JobStep[];
  /** Every variable the job sees, deduplicated, highest precedence value kept. */
  variables: JobVariable[];
  image?: JobImage;
  artifacts: ArtifactSpec[];
  cache: CacheSpec[];
  /** undefined: stage ordering (waits for all jobs of earlier stages); `[]`: starts at once. */
  needs?: JobNeed[];
  /** Job instances whose artifacts this job downloads, in order. */
  dependencies: string[];
  when: JobWhen;
  allowFailure: boolean;
  /** With `allow_failure: { exit_codes }`: failures with these exit codes are allowed; others are not. */
  allowFailureExitCodes: number[];
  /** Job timeout in seconds (default 3600, GitLab's project default). */
  timeout: number;
  retry: RetryPolicy;
  /** `tags:` as written; ignored when running locally. */
  tags: string[];
}

/** A job (instance) that the rules kept out of the pipeline, with the reason. */
export interface ExcludedJob {
  name: string;
  reason: string;
}

/** The planned pipeline. */
export interface Pipeline {
  /** Absolute path of the `.gitlab-ci.yml` file. */
  file: string;
  /** The project directory (rules: exists, cache: key: files are relative to it). */
  projectDir: string;
  /** All stages in order, `.pre` first and `.post` last. */
  stages: string[];
  /** Jobs in stage order, then in file order. */
  jobs: PlannedJob[];
  /** Jobs not added to the pipeline (rules, when: never, only/except). */
  excluded: ExcludedJob[];
  /** Pipeline-level variables (predefined, global, workflow, user), for display and `workflow: rules`. */
  variables: JobVariable[];
  /** false when `workflow: rules` or the `.pre`/`.post`-only rule keeps the pipeline from running. */
  run: boolean;
  /** Why the pipeline does not run, when `run` is false. */
  reason?: string;
  warnings: PipelineWarning[];
}

/** Facts about the project's git checkout; every field may be overridden in {@link LoadPipelineOptions}. */
export interface GitInfo {
  sha: string;
  /** The current branch; undefined on a detached HEAD. */
  branch?: string;
  /** The tag HEAD points at, when HEAD is detached at a tag (a tag pipeline). */
  tag?: string;
  tagMessage?: string;
  defaultBranch: string;
  message: string;
  author: string;
  /** ISO 8601 commit timestamp. */
  timestamp: string;
  /** `group/sub/project` from the `origin` remote; undefined without one. */
  projectPath?: string;
}

/** Options of {@link loadPipeline}. */
export interface LoadPipelineOptions {
  /** Pipeline variables (like variables of a manually run pipeline): highest precedence. */
  variables?: Record<string, string>;
  /** Overrides of the facts read from git; `false` runs no git at all (fallback values). */
  git?: Partial<GitInfo> | false;
  /** CI_PIPELINE_SOURCE; default `push`. */
  pipelineSource?: string;
  /** Project directory; default the directory of the file. */
  projectDir?: string;
  /** CI_PIPELINE_ID / CI_PIPELINE_IID; default 1. Job ids are `firstJobId`, +1, … in pipeline order. */
  pipelineId?: number;
  /** CI_JOB_ID of the first job; default 1. */
  firstJobId?: number;
  /** Pipeline creation time (CI_PIPELINE_CREATED_AT); default now. */
  now?: Date;
  signal?: AbortSignal;
}
