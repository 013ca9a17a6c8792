// From a read configuration to planned job instances: parallel expansion, rules, variable precedence
// (predefined < global < workflow < job < matrix < rules < user), needs and dependencies.
import type { CiConfig } from './config.js';
import type { Diagnostics } from './diagnostics.js';
import type { RawJob } from './job.js';
import { findNeedsCycle, resolveDependencies, resolveNeeds, type NeedIndex, type NeedTarget } from './needs.js';
import { refPolicyAllows } from './only-except.js';
import { expandInstances, type JobInstance } from './parallel.js';
import { jobPredefined } from './predefined.js';
import { firstMatch } from './rules.js';
import type { ExcludedJob, JobStep, JobVariable, JobWhen, PlannedJob, SourcePos } from './types.js';
import { expandedValues, mergeLayers, type VarDef, type VarLayer } from './variables.js';

/** Everything the planner needs besides the configuration. */
export interface PlanInput {
  config: CiConfig;
  /** Pipeline-level predefined variables. */
  predefined: Array<{ key: string; value: string }>;
  /** Variables set by a matching `workflow: rules` entry. */
  workflowVars: VarDef[];
  /** User (pipeline) variables. */
  userVars: Array<{ key: string; value: string }>;
  /** Project files (for `rules: exists`). */
  files: readonly string[];
  firstJobId: number;
}

/** A job instance that made it into the pipeline, before cache keys are resolved. */
export interface PlannedInstance {
  raw: RawJob;
  inst: JobInstance;
  target: NeedTarget;
  when: JobWhen;
  allowFailure: boolean;
  ruleVars: VarDef[];
  order: number;
}

function globalVarsFor(job: RawJob, global: readonly VarDef[]): VarDef[] {
  if (job.inheritVariables === true) return [...global];
  if (job.inheritVariables === false) return [];
  const keep = job.inheritVariables;
  return global.filter((v) => keep.includes(v.key));
}

/** The variable layers of an instance, lowest precedence first. */
function layers(p: PlanInput, job: RawJob, inst: JobInstance, jobVars: Array<{ key: string; value: string }>, ruleVars: VarDef[]): VarLayer[] {
  return [
    { vars: p.predefined, public: true },
    { vars: jobVars, public: true },
    { vars: globalVarsFor(job, p.config.variables), public: true },
    { vars: p.workflowVars, public: true },
    { vars: job.variables, public: true },
    { vars: inst.vars, public: true },
    { vars: ruleVars, public: true },
    { vars: p.userVars, public: false },
  ];
}

type Decision = { in: true; when: JobWhen; allowFailure: boolean; ruleVars: VarDef[] } | { in: false; reason: string };

function decide(p: PlanInput, job: RawJob, inst: JobInstance, d: Diagnostics): Decision {
  const facts = { name: inst.name, stage: job.stage, jobId: 0, nodeIndex: inst.nodeIndex, nodeTotal: inst.nodeTotal, timeout: job.timeout, image: job.image?.name };
  const vars = expandedValues(mergeLayers(layers(p, job, inst, jobPredefined(facts), [])));
  let when: JobWhen | 'never' | 'delayed' = job.when;
  let allowFailure = job.allowFailure ?? job.when === 'manual';
  let ruleVars: VarDef[] = [];
  if (job.rules !== undefined) {
    const rule = firstMatch(job.rules, { vars, files: p.files });
    if (rule === undefined) return { in: false, reason: 'no rules matched' };
    if (rule.when === 'never') return { in: false, reason: `rules: when: never (${rule.at.file}:${rule.at.line})` };
    if (rule.when !== undefined) when = rule.when;
    // A manual job from rules is not allowed to fail by default, unlike a job-level `when: manual`.
    allowFailure = rule.allowFailure ?? job.allowFailure ?? (rule.when === undefined && when === 'manual');
    ruleVars = rule.variables;
  } else {
    const refName = vars.get('CI_COMMIT_REF_NAME') ?? '';
    const ctx = { branch: vars.get('CI_COMMIT_BRANCH'), tag: vars.get('CI_COMMIT_TAG'), refName, source: vars.get('CI_PIPELINE_SOURCE') ?? 'push', vars };
    if (!refPolicyAllows(job.only, job.except, ctx)) return { in: false, reason: 'only/except' };
  }
  if (when === 'delayed') {
    d.warn(job.source, `${job.name}.when`, 'delayed jobs start without their delay in a local run');
    when = 'on_success';
  }
  return { in: true, when: when as JobWhen, allowFailure, ruleVars };
}

/** Applies rules and parallel expansion; returns the included instances (in file order) and the excluded ones. */
export function selectInstances(p: PlanInput, d: Diagnostics): { included: PlannedInstance[]; excluded: ExcludedJob[] } {
  const included: PlannedInstance[] = [];
  const excluded: ExcludedJob[] = [];
  for (const job of p.config.jobs) {
    if (job.trigger) {
      excluded.push({ name: job.name, reason: 'trigger job' });
      continue;
    }
    // An undefined stage was reported when the configuration was read.
    const stageIndex = p.config.stages.indexOf(job.stage);
    if (stageIndex < 0) continue;
    for (const inst of expandInstances(job.name, job.parallel)) {
      const dec = decide(p, job, inst, d);
      if (!dec.in) {
        excluded.push({ name: inst.name, reason: dec.reason });
        continue;
      }
      const target: NeedTarget = { name: inst.name, baseName: job.name, stage: job.stage, stageIndex, matrix: new Map(inst.vars.map((v) => [v.key, v.value])) };
      included.push({ raw: job, inst, target, when: dec.when, allowFailure: dec.allowFailure, ruleVars: dec.ruleVars, order: included.length });
    }
  }
  included.sort((a, b) => a.target.stageIndex - b.target.stageIndex || a.order - b.order);
  return { included, excluded };
}

function needIndex(config: CiConfig, included: readonly PlannedInstance[], excluded: readonly ExcludedJob[]): NeedIndex {
  const instances = new Map<string, NeedTarget[]>();
  for (const i of included) instances.set(i.raw.name, [...(instances.get(i.raw.name) ?? []), i.target]);
  const excludedBases = new Map<string, string>();
  for (const job of config.jobs) {
    if (instances.has(job.name)) continue;
    const reason = excluded.find((e) => e.name === job.name || e.name.startsWith(`${job.name} `) || e.name.startsWith(`${job.name}: `))?.reason;
    excludedBases.set(job.name, reason ?? 'not in the pipeline');
  }
  return { instances, excluded: excludedBases, hidden: config.hidden };
}

function steps(job: RawJob): JobStep[] {
  const out: JobStep[] = [{ name: 'script', script: [...job.beforeScript, ...job.script], timeoutSeconds: job.timeout, when: 'on_success', allowFailure: false }];
  if (job.afterScript !== undefined && job.afterScript.length > 0) {
    out.push({ name: 'after_script', script: job.afterScript, timeoutSeconds: job.timeout, when: 'always', allowFailure: true });
  }
  return out;
}

/** A planned job without its caches (their keys are resolved afterwards, from files). */
export type PlannedWithoutCache = Omit<PlannedJob, 'cache'> & { planned: PlannedInstance };

/** Resolves needs and dependencies, checks for cycles, and builds the planned jobs in pipeline order. */
export function buildJobs(p: PlanInput, included: PlannedInstance[], excluded: ExcludedJob[], d: Diagnostics): PlannedWithoutCache[] {
  const idx = needIndex(p.config, included, excluded);
  // Without needs or dependencies, artifacts come from every earlier-stage job that has some (one list per stage).
  const producers = included.filter((o) => o.raw.artifacts !== undefined);
  const before = new Map<number, string[]>();
  const producersBefore = (stage: number): string[] => {
    if (!before.has(stage)) before.set(stage, producers.filter((o) => o.target.stageIndex < stage).map((o) => o.target.name));
    return [...before.get(stage)!];
  };
  const jobs = included.map((pi, n): PlannedWithoutCache => {
    const { raw, inst, target } = pi;
    const needs = raw.needs === undefined ? undefined : resolveNeeds(target, raw.needs, idx, d);
    let dependencies: string[];
    if (raw.dependencies !== undefined) dependencies = resolveDependencies(target, raw.dependencies, raw.dependenciesPos ?? raw.source, raw.needs, idx, d);
    else if (needs !== undefined) dependencies = needs.filter((x) => x.artifacts).map((x) => x.name);
    else dependencies = producersBefore(target.stageIndex);
    const facts = { name: inst.name, stage: raw.stage, jobId: p.firstJobId + n, nodeIndex: inst.nodeIndex, nodeTotal: inst.nodeTotal, timeout: raw.timeout, image: raw.image?.name };
    const variables: JobVariable[] = mergeLayers(layers(p, raw, inst, jobPredefined(facts), pi.ruleVars));
    const job: PlannedWithoutCache = {
      name: inst.name,
      baseName: raw.name,
      source: raw.source,
      stage: raw.stage,
      stageIndex: target.stageIndex,
      nodeTotal: inst.nodeTotal,
      steps: steps(raw),
      variables,
      artifacts: raw.artifacts === undefined ? [] : [raw.artifacts],
      dependencies,
      when: pi.when,
      allowFailure: pi.allowFailure,
      allowFailureExitCodes: raw.allowFailureExitCodes,
      timeout: raw.timeout,
      retry: raw.retry,
      tags: raw.tags,
      planned: pi,
    };
    if (inst.nodeIndex !== undefined) job.nodeIndex = inst.nodeIndex;
    if (raw.image !== undefined) job.image = raw.image;
    if (needs !== undefined) job.needs = needs;
    return job;
  });
  const cycle = findNeedsCycle(new Map(jobs.map((j) => [j.name, (j.needs ?? []).map((x) => x.name)])));
  if (cycle !== undefined) {
    const first = jobs.find((j) => j.name === cycle[0]);
    const at: SourcePos = first?.planned.raw.needsPos ?? first?.source ?? { file: '', line: 0 };
    d.error(at, `${first?.baseName ?? cycle[0]}.needs`, `needs cycle: ${cycle.join(' → ')}`);
  }
  return jobs;
}
