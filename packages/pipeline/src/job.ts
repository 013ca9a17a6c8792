// One job of the file (after `extends`, `!reference` and defaults) → a typed RawJob. Instances, rules and
// needs are resolved later, by the planner.
import { readArtifacts, readCaches, type CacheRaw } from './artifacts-cache.js';
import { readImage } from './image.js';
import type { Diagnostics } from './diagnostics.js';
import { parseDuration } from './duration.js';
import { readNeeds, type NeedRaw } from './needs.js';
import { get, keyPos, readBool, readEnum, readInt, readMap, readString, readStringList, sub } from './node-read.js';
import { readRefPolicy, type RefPolicy } from './only-except.js';
import { readParallel, type ParallelSpec } from './parallel.js';
import { readRules, type Rule, type RuleWhen } from './rules.js';
import type { ArtifactSpec, JobImage, RetryPolicy, SourcePos } from './types.js';
import { readVariables, type VarDef } from './variables.js';
import type { LMap, LNode } from './yaml-tree.js';

/** GitLab's project default job timeout: one hour. */
export const DEFAULT_JOB_TIMEOUT_SECONDS = 3600;

/** Keywords `default:` may hold (and the deprecated top-level forms that feed it). */
export const DEFAULT_KEYS = new Set(['after_script', 'artifacts', 'before_script', 'cache', 'image', 'interruptible', 'retry', 'services', 'tags', 'timeout', 'hooks', 'id_tokens']);

/** Keys that do something in a local run. */
const USED = ['script', 'before_script', 'after_script', 'stage', 'image', 'variables', 'artifacts', 'cache', 'needs', 'dependencies', 'when', 'allow_failure', 'timeout', 'retry', 'tags', 'rules', 'only', 'except', 'parallel', 'extends', 'inherit'];
/** Keys GitLab knows that have no meaning here; accepted without a word. */
const QUIET = ['interruptible', 'environment', 'coverage', 'resource_group', 'manual_confirmation', 'start_in'];
/** Keys GitLab knows that a local run cannot honour; accepted with a warning. */
const IGNORED: Record<string, string> = {
  services: 'service containers are not started by a local run',
  secrets: 'external secrets are not fetched by a local run',
  release: 'releases are not created by a local run',
  pages: 'GitLab Pages are not published by a local run',
  id_tokens: 'ID tokens are not issued by a local run',
  hooks: 'hooks are not run by a local run',
  dast_configuration: 'not used by a local run',
  identity: 'not used by a local run',
};
const KNOWN_JOB_KEYS = new Set([...USED, ...QUIET, ...Object.keys(IGNORED), 'trigger', 'run']);

const RETRY_WHENS = [
  'always', 'unknown_failure', 'script_failure', 'api_failure', 'stuck_or_timeout_failure', 'runner_system_failure',
  'runner_unsupported', 'stale_schedule', 'job_execution_timeout', 'archived_failure', 'unmet_prerequisites',
  'scheduler_failure', 'data_integrity_failure',
] as const;

/** A job as written, typed. */
export interface RawJob {
  name: string;
  source: SourcePos;
  stage: string;
  stagePos: SourcePos;
  script: string[];
  beforeScript: string[];
  afterScript?: string[];
  image?: JobImage;
  variables: VarDef[];
  inheritVariables: boolean | string[];
  artifacts?: ArtifactSpec;
  caches: CacheRaw[];
  needs?: NeedRaw[];
  needsPos?: SourcePos;
  dependencies?: string[];
  dependenciesPos?: SourcePos;
  /** Job-level `when` (`on_success` when not set). */
  when: RuleWhen;
  allowFailure?: boolean;
  allowFailureExitCodes: number[];
  timeout: number;
  retry: RetryPolicy;
  tags: string[];
  rules?: Rule[];
  only?: RefPolicy;
  except?: RefPolicy;
  parallel?: ParallelSpec;
  /** Trigger jobs start downstream pipelines; a local run cannot, so they are left out. */
  trigger: boolean;
}

function readInheritValue(n: LNode, path: string, d: Diagnostics): boolean | string[] {
  if (n.kind === 'scalar' && typeof n.value === 'boolean') return n.value;
  return readStringList(n, path, d) ?? true;
}

/** `inherit: { default, variables }`. */
export function readInherit(name: string, job: LMap, d: Diagnostics): { default: boolean | string[]; variables: boolean | string[] } {
  const out = { default: true as boolean | string[], variables: true as boolean | string[] };
  const n = get(job, 'inherit');
  if (n === undefined) return out;
  const path = sub(name, 'inherit');
  const m = readMap(n, path, d);
  if (m === undefined) return out;
  for (const [k, v] of m.entries) {
    if (k === 'default' || k === 'variables') out[k] = readInheritValue(v, sub(path, k), d);
    else d.warn(keyPos(m, k), sub(path, k), 'unknown inherit key; ignored');
  }
  return out;
}

/** Copies the `default:` keywords the job does not set (and is allowed to inherit) into the job. */
export function applyDefaults(job: LMap, defaults: LMap | undefined, inherit: boolean | string[]): LMap {
  if (defaults === undefined || inherit === false) return job;
  const out: LMap = { ...job, entries: new Map(job.entries), keyLines: new Map(job.keyLines) };
  for (const [k, v] of defaults.entries) {
    if (out.entries.has(k) || !DEFAULT_KEYS.has(k)) continue;
    if (Array.isArray(inherit) && !inherit.includes(k)) continue;
    out.entries.set(k, v);
    out.keyLines.set(k, defaults.keyLines.get(k) ?? defaults.line);
  }
  return out;
}

/** Reads a script keyword: a string or a (nested) list of strings; `script` itself cannot be empty. */
export function readScript(n: LNode, path: string, d: Diagnostics, opts: { allowEmpty: boolean }): string[] | undefined {
  const lines = readStringList(n, path, d, { single: true });
  if (lines !== undefined && lines.length === 0 && !opts.allowEmpty) d.error(n, path, 'script cannot be empty');
  return lines;
}

function readRetry(n: LNode, path: string, d: Diagnostics): RetryPolicy {
  const policy: RetryPolicy = { max: 0, when: ['always'], exit_codes: [] };
  if (n.kind !== 'map') return { ...policy, max: readInt(n, path, d, 0, 2) ?? 0 };
  for (const [k, v] of n.entries) {
    const p = sub(path, k);
    if (k === 'max') policy.max = readInt(v, p, d, 0, 2) ?? 0;
    else if (k === 'when') {
      const items = v.kind === 'seq' ? v.items : [v];
      policy.when = items.flatMap((x, i) => readEnum(x, v.kind === 'seq' ? sub(p, i) : p, d, RETRY_WHENS) ?? []);
    } else if (k === 'exit_codes') policy.exit_codes = readExitCodes(v, p, d);
    else d.warn(keyPos(n, k), p, 'unknown retry key; ignored');
  }
  return policy;
}

function readExitCodes(n: LNode, path: string, d: Diagnostics): number[] {
  const items = n.kind === 'seq' ? n.items : [n];
  return items.flatMap((x, i) => readInt(x, n.kind === 'seq' ? sub(path, i) : path, d, 0, 255) ?? []);
}

function readAllowFailure(n: LNode, path: string, d: Diagnostics, job: RawJob): void {
  if (n.kind !== 'map') {
    job.allowFailure = readBool(n, path, d);
    return;
  }
  for (const [k, v] of n.entries) {
    if (k === 'exit_codes') job.allowFailureExitCodes = readExitCodes(v, sub(path, k), d);
    else d.warn(keyPos(n, k), sub(path, k), 'unknown allow_failure key; ignored');
  }
  job.allowFailure = false;
}

function readTimeout(n: LNode, path: string, d: Diagnostics): number {
  const v = n.kind === 'scalar' && (typeof n.value === 'string' || typeof n.value === 'number') ? n.value : undefined;
  const seconds = v === undefined ? undefined : parseDuration(v);
  if (seconds === undefined || seconds <= 0) {
    d.error(n, path, `invalid duration ${v === undefined ? '' : JSON.stringify(v)} (examples: '1h 30m', '3 hours 30 minutes', 3600)`);
    return DEFAULT_JOB_TIMEOUT_SECONDS;
  }
  return seconds;
}

type KeyReader = (v: LNode, p: string, d: Diagnostics, job: RawJob, m: LMap) => void;

const READERS: Record<string, KeyReader> = {
  stage: (v, p, d, job) => {
    job.stage = readString(v, p, d) ?? job.stage;
    job.stagePos = { file: v.file, line: v.line };
  },
  script: (v, p, d, job) => void (job.script = readScript(v, p, d, { allowEmpty: false }) ?? []),
  before_script: (v, p, d, job) => void (job.beforeScript = readScript(v, p, d, { allowEmpty: true }) ?? []),
  after_script: (v, p, d, job) => void (job.afterScript = readScript(v, p, d, { allowEmpty: true })),
  image: (v, p, d, job) => void (job.image = readImage(v, p, d)),
  variables: (v, p, d, job) => void (job.variables = readVariables(v, p, d, { global: false })),
  artifacts: (v, p, d, job) => void (job.artifacts = readArtifacts(v, p, d)),
  cache: (v, p, d, job) => void (job.caches = readCaches(v, p, d)),
  needs: (v, p, d, job) => {
    job.needs = readNeeds(v, p, d);
    job.needsPos = { file: v.file, line: v.line };
  },
  dependencies: (v, p, d, job) => {
    job.dependencies = readStringList(v, p, d) ?? [];
    job.dependenciesPos = { file: v.file, line: v.line };
  },
  when: (v, p, d, job) => void (job.when = readEnum(v, p, d, ['on_success', 'on_failure', 'always', 'manual', 'delayed'] as const) ?? 'on_success'),
  allow_failure: (v, p, d, job) => readAllowFailure(v, p, d, job),
  timeout: (v, p, d, job) => void (job.timeout = readTimeout(v, p, d)),
  retry: (v, p, d, job) => void (job.retry = readRetry(v, p, d)),
  tags: (v, p, d, job, m) => {
    job.tags = readStringList(v, p, d, { single: true }) ?? [];
    if (job.tags.length > 0) d.warn(keyPos(m, 'tags'), p, 'tags are ignored by a local run: every job runs on the configured runner');
  },
  rules: (v, p, d, job) => void (job.rules = readRules(v, p, d, { workflow: false })),
  only: (v, p, d, job) => void (job.only = readRefPolicy(v, p, d)),
  except: (v, p, d, job) => void (job.except = readRefPolicy(v, p, d)),
  parallel: (v, p, d, job) => void (job.parallel = readParallel(v, p, d)),
  trigger: (_v, p, d, job, m) => {
    job.trigger = true;
    d.warn(keyPos(m, 'trigger'), p, 'trigger jobs start downstream pipelines, which a local run cannot; the job is left out');
  },
};

function readJobShell(name: string, source: SourcePos): RawJob {
  return {
    name,
    source,
    stage: 'test',
    stagePos: source,
    script: [],
    beforeScript: [],
    variables: [],
    inheritVariables: true,
    caches: [],
    when: 'on_success',
    allowFailureExitCodes: [],
    timeout: DEFAULT_JOB_TIMEOUT_SECONDS,
    retry: { max: 0, when: ['always'], exit_codes: [] },
    tags: [],
    trigger: false,
  };
}

/** Reads a job mapping (defaults already applied) into a RawJob. */
export function readJob(name: string, m: LMap, source: SourcePos, d: Diagnostics): RawJob {
  const job = readJobShell(name, source);
  for (const [k, v] of m.entries) {
    const p = sub(name, k);
    const reader = READERS[k];
    if (reader !== undefined) reader(v, p, d, job, m);
    else if (!KNOWN_JOB_KEYS.has(k)) d.warn(keyPos(m, k), p, 'unknown job key; ignored');
    else if (IGNORED[k] !== undefined) d.warn(keyPos(m, k), p, `${IGNORED[k]}; ignored`);
  }
  if (job.rules !== undefined && (job.only !== undefined || job.except !== undefined)) {
    d.error(keyPos(m, 'rules'), sub(name, 'rules'), 'rules cannot be used together with only or except');
  }
  if (!m.entries.has('script') && !job.trigger) {
    d.error(source, name, m.entries.has('run') ? 'run: (CI/CD steps) is not supported; use script:' : 'a job needs a script: (or trigger:) keyword');
  }
  return job;
}

/** Reads the `default:` keywords once, so that their errors are reported at `default.<key>`. */
export function validateDefaults(m: LMap, d: Diagnostics): void {
  const scratch = readJobShell('default', { file: m.file, line: m.line });
  for (const [k, v] of m.entries) {
    const reader = READERS[k];
    if (reader !== undefined && DEFAULT_KEYS.has(k)) reader(v, sub('default', k), d, scratch, m);
  }
}
