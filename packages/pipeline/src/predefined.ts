// Predefined CI/CD variables for a local run, following GitLab's predefined variables reference. Job-only
// variables that depend on where the job runs (CI_PROJECT_DIR, CI_BUILDS_DIR, CI_JOB_TOKEN, CI_JOB_STATUS)
// are the executor's to set.
import { basename } from 'node:path';
import type { GitInfo } from './types.js';

/** GitLab's slug: lowercase, everything but a-z and 0-9 replaced by `-`, at most 63 bytes, no `-` at the ends. */
export function slugify(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '-')
    .slice(0, 63)
    .replace(/^-+|-+$/g, '');
}

/** Inputs of the pipeline-level predefined variables. */
export interface PipelineFacts {
  git: GitInfo;
  projectDir: string;
  /** Path of the CI file relative to the project directory. */
  configPath: string;
  pipelineSource: string;
  pipelineId: number;
  createdAt: Date;
}

/** `CI_COMMIT_TITLE` / `CI_COMMIT_DESCRIPTION` split of a commit message. */
function titleAndDescription(message: string): { title: string; description: string } {
  const nl = message.indexOf('\n');
  const title = nl < 0 ? message : message.slice(0, nl);
  const rest = nl < 0 ? '' : message.slice(nl + 1).replace(/^\n+/, '');
  return { title, description: title.length < 100 ? rest : message };
}

/** The project path: from the `origin` remote, else `local/<directory name>`. */
export function projectPath(facts: PipelineFacts): string {
  return facts.git.projectPath ?? `local/${slugify(basename(facts.projectDir)) || 'project'}`;
}

/** Pipeline-level predefined variables, in GitLab's documented names. */
export function pipelinePredefined(f: PipelineFacts): Array<{ key: string; value: string }> {
  const g = f.git;
  const path = projectPath(f);
  const namespace = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : path;
  const refName = g.branch ?? g.tag ?? g.sha;
  const { title, description } = titleAndDescription(g.message);
  const vars: Array<[string, string | undefined]> = [
    ['CI', 'true'],
    ['GITLAB_CI', 'true'],
    ['CI_SERVER', 'yes'],
    ['CI_PIPELINE_SOURCE', f.pipelineSource],
    ['CI_PIPELINE_ID', String(f.pipelineId)],
    ['CI_PIPELINE_IID', String(f.pipelineId)],
    ['CI_PIPELINE_CREATED_AT', f.createdAt.toISOString().replace(/\.\d{3}Z$/, 'Z')],
    ['CI_CONFIG_PATH', f.configPath],
    ['CI_COMMIT_SHA', g.sha],
    ['CI_COMMIT_SHORT_SHA', g.sha.slice(0, 8)],
    ['CI_COMMIT_BEFORE_SHA', '0000000000000000000000000000000000000000'],
    ['CI_COMMIT_REF_NAME', refName],
    ['CI_COMMIT_REF_SLUG', slugify(refName)],
    ['CI_COMMIT_REF_PROTECTED', 'false'],
    ['CI_COMMIT_BRANCH', g.branch],
    ['CI_COMMIT_TAG', g.tag],
    ['CI_COMMIT_TAG_MESSAGE', g.tag === undefined ? undefined : (g.tagMessage ?? '')],
    ['CI_COMMIT_MESSAGE', g.message],
    ['CI_COMMIT_TITLE', title],
    ['CI_COMMIT_DESCRIPTION', description],
    ['CI_COMMIT_AUTHOR', g.author],
    ['CI_COMMIT_TIMESTAMP', g.timestamp],
    ['CI_DEFAULT_BRANCH', g.defaultBranch],
    ['CI_PROJECT_NAME', path.slice(path.lastIndexOf('/') + 1)],
    ['CI_PROJECT_TITLE', basename(f.projectDir)],
    ['CI_PROJECT_PATH', path],
    ['CI_PROJECT_PATH_SLUG', slugify(path)],
    ['CI_PROJECT_NAMESPACE', namespace],
    ['CI_PROJECT_ROOT_NAMESPACE', path.split('/')[0] ?? path],
  ];
  return vars.filter((v): v is [string, string] => v[1] !== undefined).map(([key, value]) => ({ key, value }));
}

/** Inputs of the job-level predefined variables. */
export interface JobFacts {
  name: string;
  stage: string;
  jobId: number;
  nodeIndex?: number;
  nodeTotal: number;
  /** Seconds. */
  timeout: number;
  image?: string;
}

/** Job-level predefined variables. */
export function jobPredefined(j: JobFacts): Array<{ key: string; value: string }> {
  const vars: Array<[string, string | undefined]> = [
    ['CI_JOB_NAME', j.name],
    ['CI_JOB_NAME_SLUG', slugify(j.name)],
    ['CI_JOB_STAGE', j.stage],
    ['CI_JOB_ID', String(j.jobId)],
    ['CI_JOB_TIMEOUT', String(j.timeout)],
    ['CI_JOB_IMAGE', j.image],
    ['CI_NODE_INDEX', j.nodeIndex === undefined ? undefined : String(j.nodeIndex)],
    ['CI_NODE_TOTAL', String(j.nodeTotal)],
  ];
  return vars.filter((v): v is [string, string] => v[1] !== undefined).map(([key, value]) => ({ key, value }));
}
