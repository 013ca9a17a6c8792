import { randomBytes } from 'node:crypto';
import type { JobDependency, JobPayload } from '@fleetrunner/gitlab';
import type { PlannedJob } from './index.js';

function v(job: PlannedJob, key: string): string {
  return job.variables.find((x) => x.key === key)?.value ?? '';
}

/** The failure reasons `runner exec` accepts (all of them: there is no GitLab to narrow them). */
const ALL_REASONS = ['script_failure', 'runner_system_failure', 'job_execution_timeout', 'runner_configuration_error', 'unknown_failure', 'runner_interrupted', 'job_canceled'];

/**
 * Turns a planned job into the payload GitLab would send for it, so `runner exec` drives the executor exactly as
 * `runner run` does. Sources come from the local working tree (see `sources.ts`), so GIT_STRATEGY is irrelevant.
 */
export function payloadOf(job: PlannedJob, dependencies: JobDependency[]): JobPayload {
  const id = Number(v(job, 'CI_JOB_ID')) || 1;
  const projectPath = v(job, 'CI_PROJECT_PATH') || 'local/project';
  return {
    id,
    token: `exec-${randomBytes(12).toString('hex')}`,
    allowGitFetch: false,
    jobInfo: {
      name: job.name,
      stage: job.stage,
      pipelineId: Number(v(job, 'CI_PIPELINE_ID')) || 1,
      projectId: Number(v(job, 'CI_PROJECT_ID')) || 0,
      projectName: v(job, 'CI_PROJECT_NAME') || projectPath.split('/').pop() || 'project',
      projectFullPath: projectPath,
      namespaceId: 0,
      rootNamespaceId: 0,
      organizationId: 0,
      instanceId: '',
      instanceUuid: '',
      userId: 0,
      timeInQueueSeconds: 0,
      projectJobsRunningOnInstanceRunnersCount: '',
      queueSize: 0,
      queueDepth: 0,
    },
    gitInfo: {
      repoUrl: `file:///${projectPath}`,
      repoObjectFormat: 'sha1',
      ref: v(job, 'CI_COMMIT_REF_NAME') || 'main',
      sha: v(job, 'CI_COMMIT_SHA') || '0'.repeat(40),
      beforeSha: v(job, 'CI_COMMIT_BEFORE_SHA') || '0'.repeat(40),
      refType: v(job, 'CI_COMMIT_TAG') ? 'tag' : 'branch',
      refspecs: [],
      depth: 0,
    },
    runnerInfo: { timeoutSeconds: job.timeout, uuid: '' },
    inputs: [],
    variables: job.variables.map((x) => ({ ...x })),
    steps: job.steps.map((s) => ({ ...s, script: [...s.script] })),
    ...(job.image ? { image: { ...job.image } as JobPayload['image'] } : {}),
    services: [],
    artifacts: job.artifacts.map((a) => ({ ...a })),
    cache: job.cache.map((c) => ({ ...c })),
    credentials: [],
    dependencies,
    features: { traceSections: true, tokenMaskPrefixes: [], failureReasons: ALL_REASONS },
    secrets: {},
    hooks: [],
  };
}
