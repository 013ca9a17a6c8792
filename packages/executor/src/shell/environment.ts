import type { JobPaths, JobVariable } from './types.js';
import { computeJobPaths, type JobPathsOptions } from './paths.js';
import { resolveJobSettings, type JobSettings } from './settings.js';
import { buildJobVariables, parseRunnerEnvironment, type BuildJobVariablesInput } from './variables.js';
import { expandVariables, variableValue } from './expand.js';
import { invalidVariableNames } from './exports.js';
import { parseGoBool } from '@fleetrunner/common';
import type { FeatureFlags } from './feature-flags.js';

/** Inputs of {@link prepareJobEnvironment}: the payload and runner facts that decide paths and variables. */
export interface JobEnvironmentInput
  extends Omit<BuildJobVariablesInput, 'paths'>,
    Omit<JobPathsOptions, 'gitStrategy' | 'gitClonePath'> {
  /** Payload `allow_git_fetch`. */
  readonly allowGitFetch?: boolean;
  /** Payload `git_info.depth`. */
  readonly gitDepth?: number;
  /** `debug_trace_disabled`: CI_DEBUG_TRACE is refused (with a warning). */
  readonly debugTraceDisabled?: boolean;
}

/** Paths, variables, flags and settings of one job: what every stage script is generated from. */
export interface JobEnvironment {
  readonly paths: JobPaths;
  readonly variables: readonly JobVariable[];
  readonly featureFlags: FeatureFlags;
  readonly settings: JobSettings;
  /** CI_DEBUG_TRACE is on (and allowed): the stage scripts run with shell xtrace. */
  readonly debugTrace: boolean;
  /** Lines for the job log (flag/setting parse problems, skipped variable names); never variable values. */
  readonly warnings: readonly string[];
}

/**
 * Resolves a job's environment in upstream's order: settings that shape the paths (GIT_STRATEGY,
 * GIT_CLONE_PATH, which may reference `$CI_BUILDS_DIR`) are read first, then the paths, then the final
 * variables (see {@link buildJobVariables}) and the settings from them. Throws `invalid_argument`
 * (failure reason `runner_configuration_error`) for a disallowed GIT_CLONE_PATH.
 */
export function prepareJobEnvironment(input: JobEnvironmentInput): JobEnvironment {
  const root = computeJobPaths(input);
  const early = expandVariables([
    ...parseRunnerEnvironment(input.runnerEnvironment ?? []),
    { key: 'CI_BUILDS_DIR', value: root.buildsDir, public: true, file: false, masked: false, raw: false, internal: true },
    ...input.jobVariables,
  ]);
  const settingsOptions = { allowGitFetch: input.allowGitFetch, gitDepth: input.gitDepth };
  const earlySettings = resolveJobSettings(early, settingsOptions).settings;
  const paths = computeJobPaths({ ...input, gitStrategy: earlySettings.gitStrategy, gitClonePath: earlySettings.gitClonePath });

  const built = buildJobVariables({ ...input, paths });
  const { settings, errors } = resolveJobSettings(built.variables, settingsOptions);
  const invalid = invalidVariableNames(built.variables).map((k) => `variable ${JSON.stringify(k)} is not a valid shell name and is not exported`);
  // CI_DEBUG_TRACE turns on shell xtrace in every stage script; what it prints goes through the job log's masking
  // like any other output. `debug_trace_disabled` refuses it with upstream's warning.
  const requested = parseGoBool(variableValue(built.variables, 'CI_DEBUG_TRACE')) === true;
  const debugTrace = requested && input.debugTraceDisabled !== true;
  const trace = requested && !debugTrace ? ['CI_DEBUG_TRACE: usage is disabled on this Runner'] : [];
  return {
    paths,
    variables: built.variables,
    featureFlags: built.featureFlags,
    settings,
    debugTrace,
    warnings: [...built.warnings, ...errors, ...invalid, ...trace],
  };
}
