export { loadPipeline } from './load-pipeline.js';
export { parseExpression, evaluateExpression, type Expr, type ExprVariables } from './expression.js';
export { parseDuration } from './duration.js';
export { readGitInfo, projectPathFromRemote, GIT_FALLBACK } from './git-info.js';
export { slugify } from './predefined.js';
export { formatProblem, type PipelineProblem } from './diagnostics.js';
export { DEFAULT_JOB_TIMEOUT_SECONDS } from './job.js';
export { DEFAULT_STAGES } from './config.js';
export type {
  Pipeline,
  PlannedJob,
  JobVariable,
  JobStep,
  JobImage,
  ArtifactSpec,
  CacheSpec,
  JobNeed,
  JobWhen,
  RetryPolicy,
  UploadWhen,
  ExcludedJob,
  PipelineWarning,
  SourcePos,
  GitInfo,
  LoadPipelineOptions,
} from './types.js';
export { createSchedule, type Schedule, type ScheduleOptions, type ScheduledJob, type JobResult, type JobState, type PipelineStatus } from './schedule.js';
export { selectJobs } from './select.js';
export { runPipeline, type JobReport } from './run-pipeline.js';
