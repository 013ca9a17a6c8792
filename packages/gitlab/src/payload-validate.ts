import { JobPayloadError } from './errors.js';
import {
  FieldError,
  arr,
  bool,
  int,
  isObject,
  join,
  num,
  object,
  oneOf,
  onlyKeys,
  optBool,
  optInt,
  optObject,
  requiredStr,
  str,
  strArr,
  type JsonObject,
} from './field-reader.js';
import type {
  ArtifactSpec,
  CacheSpec,
  ImageExecutorOptions,
  JobDependency,
  JobImage,
  JobInput,
  JobPayload,
  JobStep,
  JobVariable,
  SecretSpec,
} from './job-payload.js';

const WHEN = ['on_success', 'on_failure', 'always'] as const;
const FORMATS = ['zip', 'gzip', 'raw', 'zipzstd', 'tarzstd'] as const;
const INPUT_TYPES = ['string', 'number', 'boolean', 'array', 'struct'] as const;

/**
 * Validates the 201 body of `POST jobs/request` and converts it to a {@link JobPayload}. Throws a
 * {@link JobPayloadError} naming the first bad field; it carries the job id and token when those were readable.
 */
export function parseJobPayload(body: unknown): JobPayload {
  if (!isObject(body)) throw new JobPayloadError('(body)', 'expected a JSON object');
  try {
    return readPayload(body);
  } catch (err) {
    if (!(err instanceof FieldError)) throw err;
    const id = body['id'];
    const token = body['token'];
    const job = typeof id === 'number' && Number.isSafeInteger(id) && id > 0 && typeof token === 'string' && token !== '' ? { id, token } : undefined;
    throw new JobPayloadError(err.field, err.problem, job);
  }
}

function readPayload(o: JsonObject): JobPayload {
  const id = int(o, 'id', '');
  if (id <= 0) throw new FieldError('id', id === 0 ? 'required' : `must be > 0, got ${id}`);
  const token = requiredStr(o, 'token', '');
  const payload: JobPayload = {
    id,
    token,
    allowGitFetch: bool(o, 'allow_git_fetch', ''),
    jobInfo: readJobInfo(object(o['job_info'], 'job_info')),
    gitInfo: readGitInfo(object(o['git_info'], 'git_info')),
    runnerInfo: readRunnerInfo(object(o['runner_info'], 'runner_info')),
    inputs: arr(o, 'inputs', '', readInput),
    variables: arr(o, 'variables', '', readVariable),
    steps: arr(o, 'steps', '', readStep),
    services: arr(o, 'services', '', (v, p) => readImage(object(v, p), p)),
    artifacts: arr(o, 'artifacts', '', readArtifact),
    cache: arr(o, 'cache', '', readCache),
    credentials: arr(o, 'credentials', '', (v, p) => {
      const c = object(v, p);
      return { type: str(c, 'type', p), url: str(c, 'url', p), username: str(c, 'username', p), password: str(c, 'password', p) };
    }),
    dependencies: arr(o, 'dependencies', '', readDependency),
    features: readFeatures(object(o['features'], 'features')),
    secrets: readSecrets(optObject(o['secrets'], 'secrets') ?? {}),
    hooks: arr(o, 'hooks', '', (v, p) => {
      const h = object(v, p);
      return { name: oneOf(h, 'name', p, ['pre_get_sources_script', 'post_get_sources_script'] as const, 'pre_get_sources_script'), script: strArr(h, 'script', p) };
    }),
  };
  const image = optObject(o['image'], 'image');
  if (image && str(image, 'name', 'image') !== '') payload.image = readImage(image, 'image');
  const run = str(o, 'run', '');
  if (run !== '') payload.run = readRun(run);
  if (payload.run && payload.steps.some((s) => s.script.length > 0)) {
    throw new FieldError('run', 'the `run` and `script` keywords cannot be used together');
  }
  const policy = optObject(o['policy_options'], 'policy_options');
  if (policy) {
    const p = 'policy_options';
    payload.policyOptions = { executionPolicyJob: bool(policy, 'execution_policy_job', p), policyName: str(policy, 'policy_name', p) };
    const allowed = optBool(policy, 'policy_variables_override_allowed', p);
    if (allowed !== undefined) payload.policyOptions.variableOverrideAllowed = allowed;
    if (policy['policy_variables_override_exceptions'] != null) {
      payload.policyOptions.variableOverrideExceptions = strArr(policy, 'policy_variables_override_exceptions', p);
    }
  }
  const suspend = optObject(o['suspend_options'], 'suspend_options');
  if (suspend) {
    const p = 'suspend_options';
    payload.suspendOptions = {
      suspendOnSuccess: bool(suspend, 'suspend_on_success', p),
      suspendOnFailure: bool(suspend, 'suspend_on_failure', p),
      runtimeEnvironmentKey: str(suspend, 'runtime_environment_key', p),
    };
  }
  return payload;
}

function readJobInfo(o: JsonObject): JobPayload['jobInfo'] {
  const p = 'job_info';
  const info: JobPayload['jobInfo'] = {
    name: str(o, 'name', p),
    stage: str(o, 'stage', p),
    pipelineId: int(o, 'pipeline_id', p),
    projectId: int(o, 'project_id', p),
    projectName: str(o, 'project_name', p),
    projectFullPath: str(o, 'project_full_path', p),
    namespaceId: int(o, 'namespace_id', p),
    rootNamespaceId: int(o, 'root_namespace_id', p),
    organizationId: int(o, 'organization_id', p),
    instanceId: str(o, 'instance_id', p),
    instanceUuid: str(o, 'instance_uuid', p),
    userId: int(o, 'user_id', p),
    timeInQueueSeconds: num(o, 'time_in_queue_seconds', p),
    projectJobsRunningOnInstanceRunnersCount: str(o, 'project_jobs_running_on_instance_runners_count', p),
    queueSize: int(o, 'queue_size', p),
    queueDepth: int(o, 'queue_depth', p),
  };
  const scoped = optInt(o, 'scoped_user_id', p);
  if (scoped !== undefined) info.scopedUserId = scoped;
  return info;
}

function readGitInfo(o: JsonObject): JobPayload['gitInfo'] {
  const p = 'git_info';
  const git: JobPayload['gitInfo'] = {
    repoUrl: str(o, 'repo_url', p),
    repoObjectFormat: str(o, 'repo_object_format', p),
    ref: str(o, 'ref', p),
    sha: str(o, 'sha', p),
    beforeSha: str(o, 'before_sha', p),
    refType: str(o, 'ref_type', p) === '' ? '' : oneOf(o, 'ref_type', p, ['branch', 'tag'] as const, 'branch'),
    refspecs: strArr(o, 'refspecs', p),
    depth: int(o, 'depth', p),
  };
  if (git.depth < 0) throw new FieldError(join(p, 'depth'), `must be ≥ 0, got ${git.depth}`);
  const prot = optBool(o, 'protected', p);
  if (prot !== undefined) git.protected = prot;
  return git;
}

function readRunnerInfo(o: JsonObject): JobPayload['runnerInfo'] {
  return { timeoutSeconds: int(o, 'timeout', 'runner_info'), uuid: str(o, 'uuid', 'runner_info') };
}

function readInput(v: unknown, p: string): JobInput {
  const o = object(v, p);
  const key = requiredStr(o, 'key', p);
  const value = object(o['value'], join(p, 'value'));
  const type = oneOf(value, 'type', join(p, 'value'), INPUT_TYPES, 'string');
  const content = value['content'];
  if (content === undefined || content === null) throw new FieldError(join(p, 'value.content'), `input ${JSON.stringify(key)} is null, must have a value`);
  const actual = Array.isArray(content) ? 'array' : typeof content === 'object' ? 'struct' : typeof content;
  if (actual !== type) throw new FieldError(join(p, 'value.content'), `announced type ${type}, got ${actual}`);
  return { key, type, content, sensitive: bool(value, 'sensitive', join(p, 'value')) };
}

function readVariable(v: unknown, p: string): JobVariable {
  const o = object(v, p);
  const key = requiredStr(o, 'key', p);
  let value: string;
  try {
    value = str(o, 'value', p);
  } catch (err) {
    // Name the variable (never its value: it may be a secret).
    throw err instanceof FieldError ? new FieldError(err.field, `${err.problem} (variable ${key})`) : err;
  }
  return {
    key,
    value,
    public: bool(o, 'public', p),
    file: bool(o, 'file', p),
    masked: bool(o, 'masked', p),
    raw: bool(o, 'raw', p),
  };
}

function readStep(v: unknown, p: string): JobStep {
  const o = object(v, p);
  const step: JobStep = {
    name: requiredStr(o, 'name', p),
    script: strArr(o, 'script', p),
    timeoutSeconds: int(o, 'timeout', p),
    when: oneOf(o, 'when', p, WHEN, 'on_success'),
    allowFailure: bool(o, 'allow_failure', p),
  };
  if (step.timeoutSeconds < 0) throw new FieldError(join(p, 'timeout'), `must be ≥ 0, got ${step.timeoutSeconds}`);
  return step;
}

function readImage(o: JsonObject, p: string): JobImage {
  return {
    name: str(o, 'name', p),
    alias: str(o, 'alias', p),
    command: strArr(o, 'command', p),
    entrypoint: strArr(o, 'entrypoint', p),
    ports: arr(o, 'ports', p, (v, pp) => {
      const port = object(v, pp);
      return { number: int(port, 'number', pp), protocol: str(port, 'protocol', pp), name: str(port, 'name', pp) };
    }),
    variables: arr(o, 'variables', p, readVariable),
    pullPolicy: strArr(o, 'pull_policy', p),
    executorOptions: readExecutorOptions(optObject(o['executor_opts'], join(p, 'executor_opts')), join(p, 'executor_opts')),
  };
}

/** GitLab Runner fails a job whose image names executor options it does not know. */
function readExecutorOptions(o: JsonObject | undefined, p: string): ImageExecutorOptions {
  if (!o) return {};
  onlyKeys(o, ['docker', 'kubernetes'], p);
  const out: ImageExecutorOptions = {};
  const docker = optObject(o['docker'], join(p, 'docker'));
  if (docker) {
    onlyKeys(docker, ['platform', 'user'], join(p, 'docker'));
    out.docker = { platform: str(docker, 'platform', join(p, 'docker')), user: stringOrInt(docker, 'user', join(p, 'docker')) };
  }
  const k8s = optObject(o['kubernetes'], join(p, 'kubernetes'));
  if (k8s) {
    onlyKeys(k8s, ['user'], join(p, 'kubernetes'));
    out.kubernetes = { user: stringOrInt(k8s, 'user', join(p, 'kubernetes')) };
  }
  return out;
}

function stringOrInt(o: JsonObject, key: string, p: string): string {
  return typeof o[key] === 'number' ? String(int(o, key, p)) : str(o, key, p);
}

function readArtifact(v: unknown, p: string): ArtifactSpec {
  const o = object(v, p);
  return {
    name: str(o, 'name', p),
    untracked: bool(o, 'untracked', p),
    paths: strArr(o, 'paths', p),
    exclude: strArr(o, 'exclude', p),
    when: oneOf(o, 'when', p, WHEN, 'on_success'),
    type: str(o, 'artifact_type', p) || 'archive',
    format: oneOf(o, 'artifact_format', p, FORMATS, 'zip'),
    expireIn: str(o, 'expire_in', p),
  };
}

function readCache(v: unknown, p: string): CacheSpec {
  const o = object(v, p);
  return {
    key: str(o, 'key', p),
    untracked: bool(o, 'untracked', p),
    policy: oneOf(o, 'policy', p, ['pull', 'push', 'pull-push'] as const, 'pull-push'),
    paths: strArr(o, 'paths', p),
    when: oneOf(o, 'when', p, WHEN, 'on_success'),
    fallbackKeys: strArr(o, 'fallback_keys', p),
  };
}

function readDependency(v: unknown, p: string): JobDependency {
  const o = object(v, p);
  const id = int(o, 'id', p);
  if (id <= 0) throw new FieldError(join(p, 'id'), `must be > 0, got ${id}`);
  const dep: JobDependency = { id, token: requiredStr(o, 'token', p), name: str(o, 'name', p) };
  const file = optObject(o['artifacts_file'], join(p, 'artifacts_file'));
  if (file && str(file, 'filename', join(p, 'artifacts_file')) !== '') {
    dep.artifactsFile = { filename: str(file, 'filename', join(p, 'artifacts_file')), size: int(file, 'size', join(p, 'artifacts_file')) };
  }
  return dep;
}

function readFeatures(o: JsonObject): JobPayload['features'] {
  const p = 'features';
  return {
    traceSections: bool(o, 'trace_sections', p),
    tokenMaskPrefixes: strArr(o, 'token_mask_prefixes', p),
    failureReasons: strArr(o, 'failure_reasons', p),
  };
}

function readSecrets(o: JsonObject): Record<string, SecretSpec> {
  const out: Record<string, SecretSpec> = {};
  for (const [name, raw] of Object.entries(o)) {
    const p = join('secrets', name);
    const s = object(raw, p);
    const spec: SecretSpec = { providers: {} };
    for (const [k, v] of Object.entries(s)) {
      if (k === 'file') {
        const f = optBool(s, 'file', p);
        if (f !== undefined) spec.file = f;
      } else if (v !== null && v !== undefined) {
        spec.providers[k] = object(v, join(p, k));
      }
    }
    out[name] = spec;
  }
  return out;
}

function readRun(text: string): unknown[] {
  let decoded: unknown;
  try {
    decoded = JSON.parse(text);
  } catch (err) {
    throw new FieldError('run', `not a JSON-encoded step list: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!Array.isArray(decoded)) throw new FieldError('run', 'expected a JSON-encoded array of steps');
  return decoded;
}
