export type { ShellName, JobVariable, GitInfo, JobHook, JobStep, StepWhen, JobStatus, JobPaths } from './types.js';
export { shellQuote, shellJoin, isValidVariableName, redactUrl, splitCredentials } from './quote.js';
export { computeJobPaths, projectSlug, DEFAULT_BUILDS_DIR, DEFAULT_CACHE_DIR, type JobPathsOptions } from './paths.js';
export { expandString, expandVariables, variableLookup, variableValue } from './expand.js';
export { resolveFeatureFlags, isFlagOn, type FeatureFlags } from './feature-flags.js';
export { resolveJobSettings, type JobSettings, type JobSettingsOptions, type GitStrategy, type SubmoduleStrategy } from './settings.js';
export {
  buildJobVariables,
  expandSlotTemplate,
  parseRunnerEnvironment,
  GITLAB_ENV_FILE,
  DEFAULT_SLOT_CGROUP_TEMPLATE,
  type BuildJobVariablesInput,
  type JobVariables,
  type RunnerVersionInfo,
} from './variables.js';
export { prepareJobEnvironment, type JobEnvironment, type JobEnvironmentInput } from './environment.js';
export { fileVariablePath, gitlabEnvPath } from './exports.js';
export { remoteUrl, insteadOfs, type GitSourceOptions } from './git-sources.js';
export { shellCommand, evalStrategy, type ShellCommand, type EvalStrategy } from './script.js';
export {
  stageDescription,
  stepStage,
  type StageName,
  type TransferStage,
  type RunnerScripts,
  type ScriptInput,
} from './stage-input.js';
export { generateStageScript } from './stages.js';
