export * from './shell/index.js';
export * from './files/index.js';
export { runJob, DEFAULT_JOB_TIMEOUT_S, DEFAULT_AFTER_SCRIPT_TIMEOUT_MS } from './job/run-job.js';
export { runStageScript, DEFAULT_STAGE_KILL_GRACE_MS, type StageRun, type StageStops } from './job/stage-exec.js';
export type { ExecutorSettings, JobLog, ArtifactBackend, JobContext, StageRecord, StagePhase, JobResult } from './job/types.js';
export * from './autoscaler/index.js';
