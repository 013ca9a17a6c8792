// The top level of a `.gitlab-ci.yml`: global keywords and jobs. Jobs come out extended (`extends`),
// with `!reference` tags resolved and `default:` keywords applied, ready to be read.
import type { Diagnostics } from './diagnostics.js';
import { resolveExtends, resolveReferences } from './extends.js';
import { applyDefaults, DEFAULT_KEYS, readInherit, readJob, validateDefaults, type RawJob } from './job.js';
import { get, keyPos, readMap, readStringList, sub, warnUnknownKeys } from './node-read.js';
import { readRules, type Rule } from './rules.js';
import type { SourcePos } from './types.js';
import { readVariables, type VarDef } from './variables.js';
import { emptyMap, type LMap, type LNode } from './yaml-tree.js';

/** Stages when `stages:` is not set (`.pre` and `.post` are always first and last). */
export const DEFAULT_STAGES = ['.pre', 'build', 'test', 'deploy', '.post'];

/** Top-level keys that are not jobs. */
const GLOBAL_KEYS = new Set(['default', 'include', 'stages', 'types', 'variables', 'workflow', 'image', 'services', 'cache', 'before_script', 'after_script', 'spec']);
/** Deprecated top-level forms of `default:` keywords. */
const DEPRECATED_GLOBALS = ['image', 'services', 'cache', 'before_script', 'after_script'];

/** The read configuration. */
export interface CiConfig {
  stages: string[];
  variables: VarDef[];
  workflowRules?: Rule[];
  jobs: RawJob[];
  /** Names of hidden jobs (`.name`), which never run. */
  hidden: Set<string>;
}

function readStages(root: LMap, d: Diagnostics): string[] {
  const key = root.entries.has('stages') ? 'stages' : root.entries.has('types') ? 'types' : undefined;
  if (key === undefined) return [...DEFAULT_STAGES];
  if (key === 'types') d.warn(keyPos(root, key), key, 'types is deprecated; use stages');
  const list = readStringList(root.entries.get(key)!, key, d) ?? [];
  const user = [...new Set(list.filter((s) => s !== '.pre' && s !== '.post'))];
  return ['.pre', ...user, '.post'];
}

/** `default:` plus the deprecated top-level image/services/cache/before_script/after_script. */
function readDefaults(root: LMap, d: Diagnostics): LMap | undefined {
  const node = get(root, 'default');
  const base = node === undefined ? undefined : readMap(node, 'default', d);
  if (base !== undefined) warnUnknownKeys(base, 'default', DEFAULT_KEYS, d, 'default');
  let out = base;
  for (const k of DEPRECATED_GLOBALS) {
    const v = root.entries.get(k);
    if (v === undefined) continue;
    d.warn(keyPos(root, k), k, `a top-level ${k} is deprecated; use default: ${k}`);
    if (out?.entries.has(k) === true) continue;
    out ??= emptyMap(root);
    out = { ...out, entries: new Map(out.entries).set(k, v), keyLines: new Map(out.keyLines).set(k, keyPos(root, k).line) };
  }
  if (out !== undefined) validateDefaults(out, d);
  return out;
}

function readWorkflow(root: LMap, d: Diagnostics): Rule[] | undefined {
  const node = get(root, 'workflow');
  if (node === undefined) return undefined;
  const m = readMap(node, 'workflow', d);
  if (m === undefined) return undefined;
  for (const k of m.entries.keys()) if (k !== 'rules' && k !== 'name' && k !== 'auto_cancel') d.warn(keyPos(m, k), sub('workflow', k), 'unknown workflow key; ignored');
  const rules = get(m, 'rules');
  return rules === undefined ? undefined : readRules(rules, 'workflow.rules', d, { workflow: true });
}

/** Splits the top level into globals and job mappings; reports what is neither. */
function collectJobs(root: LMap, d: Diagnostics): Map<string, LMap> {
  const jobs = new Map<string, LMap>();
  for (const [k, v] of root.entries) {
    if (GLOBAL_KEYS.has(k)) continue;
    if (v.kind !== 'map') {
      if (!k.startsWith('.')) d.error(keyPos(root, k), k, 'expected a job (a mapping with a script:) or a global keyword');
      continue;
    }
    jobs.set(k, v);
  }
  return jobs;
}

/** Reads a parsed `.gitlab-ci.yml` (includes already merged) into a CiConfig. */
export function readConfig(root: LNode, d: Diagnostics): CiConfig {
  const top = readMap(root, '', d, 'a mapping of jobs and global keywords');
  if (top === undefined) return { stages: [...DEFAULT_STAGES], variables: [], jobs: [], hidden: new Set() };
  if (top.entries.has('spec')) d.error(keyPos(top, 'spec'), 'spec', 'spec: (CI/CD inputs) is not supported by a local run');
  const extended = resolveExtends(collectJobs(top, d), d);
  // References see the extended jobs, as in GitLab (extends first, then !reference).
  const refRoot: LMap = { ...top, entries: new Map(top.entries) };
  for (const [k, v] of extended) refRoot.entries.set(k, v);
  const resolved: LMap = { ...refRoot, entries: new Map() };
  for (const [k, v] of refRoot.entries) resolved.entries.set(k, resolveReferences(v, refRoot, d));

  const defaults = readDefaults(resolved, d);
  const varsNode = get(resolved, 'variables');
  const config: CiConfig = {
    stages: readStages(resolved, d),
    variables: varsNode === undefined ? [] : readVariables(varsNode, 'variables', d, { global: true }),
    workflowRules: readWorkflow(resolved, d),
    jobs: [],
    hidden: new Set([...extended.keys()].filter((k) => k.startsWith('.'))),
  };
  for (const name of extended.keys()) {
    if (name.startsWith('.')) continue;
    const job = resolved.entries.get(name) as LMap;
    const source: SourcePos = keyPos(top, name);
    const inherit = readInherit(name, job, d);
    const raw = readJob(name, applyDefaults(job, defaults, inherit.default), source, d);
    raw.inheritVariables = inherit.variables;
    if (!config.stages.includes(raw.stage)) {
      d.error(raw.stagePos, sub(name, 'stage'), `stage ${JSON.stringify(raw.stage)} is not defined; stages are ${config.stages.join(', ')}`);
    }
    config.jobs.push(raw);
  }
  return config;
}
