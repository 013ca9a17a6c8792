import { readFile } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { RunnerError } from '@fleetrunner/common';
import { readConfig, type CiConfig } from './config.js';
import { Diagnostics } from './diagnostics.js';
import type { ExprVariables } from './expression.js';
import { GIT_FALLBACK, readGitInfo } from './git-info.js';
import { mergeIncludes } from './include.js';
import { buildJobs, selectInstances, type PlanInput } from './plan.js';
import { pipelinePredefined } from './predefined.js';
import { listProjectFiles, resolveCacheKey } from './project-files.js';
import { firstMatch, usesExists } from './rules.js';
import type { CacheSpec, GitInfo, LoadPipelineOptions, Pipeline, PlannedJob } from './types.js';
import { expandedValues, mergeLayers, type VarDef } from './variables.js';
import { parseYaml } from './yaml-tree.js';

async function gitFacts(dir: string, opts: LoadPipelineOptions): Promise<GitInfo> {
  const base = opts.git === false ? { ...GIT_FALLBACK } : await readGitInfo(dir, { signal: opts.signal });
  opts.signal?.throwIfAborted();
  const over = opts.git === false || opts.git === undefined ? {} : opts.git;
  const merged: GitInfo = { ...base, ...over };
  // A pipeline is for a branch or for a tag, never both: an override of one drops the other.
  if (over.tag !== undefined && over.branch === undefined) delete merged.branch;
  if (over.branch !== undefined && over.tag === undefined) {
    delete merged.tag;
    delete merged.tagMessage;
  }
  return merged;
}

function needsFiles(config: CiConfig): boolean {
  return usesExists(config.workflowRules) || config.jobs.some((j) => usesExists(j.rules));
}

function workflow(config: CiConfig, vars: ExprVariables, files: readonly string[]): { run: boolean; reason?: string; vars: VarDef[] } {
  if (config.workflowRules === undefined) return { run: true, vars: [] };
  const rule = firstMatch(config.workflowRules, { vars, files });
  if (rule === undefined) return { run: false, reason: 'no workflow: rules entry matched', vars: [] };
  if (rule.when === 'never') return { run: false, reason: `workflow: rules said never (${rule.at.file}:${rule.at.line})`, vars: [] };
  return { run: true, vars: rule.variables };
}

async function withCaches(jobs: ReturnType<typeof buildJobs>, dir: string, files: () => Promise<readonly string[]>, signal?: AbortSignal): Promise<PlannedJob[]> {
  const memo = new Map<string, Promise<string>>();
  const out: PlannedJob[] = [];
  for (const { planned, ...job } of jobs) {
    const cache: CacheSpec[] = [];
    for (const c of planned.raw.caches) {
      const id = JSON.stringify(c.key);
      if (!memo.has(id)) memo.set(id, resolveCacheKey(c.key, dir, files, signal));
      cache.push({ key: await memo.get(id)!, untracked: c.untracked, policy: c.policy, paths: c.paths, when: c.when, fallbackKeys: c.fallbackKeys });
    }
    out.push({ ...job, cache });
  }
  return out;
}

/**
 * Reads a `.gitlab-ci.yml` and plans its pipeline for a local run: every job instance with its script steps,
 * variables, image, artifacts, caches, needs and dependencies. Runs `git` in the project directory for the
 * predefined variables. Throws an `invalid_argument` RunnerError listing every configuration error as
 * `file:line: job.key.path: message`; a missing file is `not_found`.
 */
export async function loadPipeline(file: string, opts: LoadPipelineOptions = {}): Promise<Pipeline> {
  const abs = resolve(file);
  const projectDir = resolve(opts.projectDir ?? dirname(abs));
  const text = await readFile(abs, { encoding: 'utf8', signal: opts.signal }).catch((err: NodeJS.ErrnoException) => {
    throw new RunnerError(err.code === 'ENOENT' ? 'not_found' : 'invalid_argument', `reading ${file}: ${err.message}`, { cause: err });
  });
  const d = new Diagnostics();
  const context = `loading ${file}`;
  const root = parseYaml(text, file, d);
  d.throwIfErrors(context);
  let fileList: Promise<string[]> | undefined;
  const files = (): Promise<string[]> => (fileList ??= listProjectFiles(projectDir, { signal: opts.signal }));

  const git = await gitFacts(projectDir, opts);
  const predefined = pipelinePredefined({
    git,
    projectDir,
    configPath: relative(projectDir, abs).split('\\').join('/'),
    pipelineSource: opts.pipelineSource ?? 'push',
    pipelineId: opts.pipelineId ?? 1,
    createdAt: opts.now ?? new Date(),
  });
  const userVars = Object.entries(opts.variables ?? {}).map(([key, value]) => ({ key, value }));
  const pipelineVars = (global: readonly VarDef[], wf: readonly VarDef[]) =>
    mergeLayers([{ vars: predefined, public: true }, { vars: global, public: true }, { vars: wf, public: true }, { vars: userVars, public: false }]);

  const merged = root === undefined ? undefined : await mergeIncludes(root, { projectDir, file, vars: expandedValues(pipelineVars([], [])), files, signal: opts.signal }, d);
  const config = merged === undefined ? readConfig({ kind: 'map', file, line: 1, entries: new Map(), keyLines: new Map() }, d) : readConfig(merged, d);
  d.throwIfErrors(context);

  const projectFiles = needsFiles(config) ? await files() : [];
  const wf = workflow(config, expandedValues(pipelineVars(config.variables, [])), projectFiles);
  const input: PlanInput = { config, predefined, workflowVars: wf.vars, userVars, files: projectFiles, firstJobId: opts.firstJobId ?? 1 };
  const { included, excluded } = wf.run ? selectInstances(input, d) : { included: [], excluded: [] };
  const built = buildJobs(input, included, excluded, d);
  d.throwIfErrors(context);

  const pipeline: Pipeline = {
    file: abs,
    projectDir,
    stages: config.stages,
    jobs: await withCaches(built, projectDir, files, opts.signal),
    excluded,
    variables: pipelineVars(config.variables, wf.vars),
    run: wf.run,
    warnings: d.warnings,
  };
  if (!wf.run) pipeline.reason = wf.reason;
  else if (pipeline.jobs.length === 0) {
    pipeline.run = false;
    pipeline.reason = 'no job is in the pipeline';
  } else if (pipeline.jobs.every((j) => j.stage === '.pre' || j.stage === '.post')) {
    pipeline.run = false;
    pipeline.reason = 'the pipeline has only .pre and .post jobs';
  }
  return pipeline;
}
