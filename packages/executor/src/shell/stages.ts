import { posix } from 'node:path';
import { shellQuote } from './quote.js';
import { HOME_VAR, ScriptWriter, pathWord } from './writer.js';
import { EXTERNAL_GIT_CONFIG_FILE, GIT_TEMPLATE_DIR, writeClearGitCredentials, writeCloneFetch, writeGitCleanup, type GitSourceInput } from './git-sources.js';
import { writeSubmodules } from './git-submodules.js';
import { exportLine, fileVariablePath, gitlabEnvPath, writeExports } from './exports.js';
import { writeUserCommands } from './user-commands.js';
import { evalStrategy, finishScript } from './script.js';
import { isFlagOn } from './feature-flags.js';
import { expandString, variableLookup, variableValue } from './expand.js';
import { stageDescription, stepStage, type ScriptInput, type StageName } from './stage-input.js';

function writer(input: ScriptInput): ScriptWriter {
  const w = new ScriptWriter(isFlagOn(input.env.featureFlags, 'FF_ENABLE_BASH_EXIT_CODE_CHECK'));
  w.commandLine(`cd "$${HOME_VAR}"`);
  return w;
}

function exportsAndCd(w: ScriptWriter, input: ScriptInput): void {
  writeExports(w, input.env.variables, input.env.paths, { jobStatus: input.jobStatus });
  w.commandLine(`cd ${pathWord(input.env.paths.projectDir)}`);
}

function sections(input: ScriptInput): boolean {
  return isFlagOn(input.env.featureFlags, 'FF_SCRIPT_SECTIONS') && input.traceSections === true;
}

function gitInput(input: ScriptInput): GitSourceInput {
  const { featureFlags, variables } = input.env;
  const version = variableValue(variables, 'CI_RUNNER_VERSION');
  const arch = variableValue(variables, 'CI_RUNNER_EXECUTABLE_ARCH');
  return {
    paths: input.env.paths,
    gitInfo: input.gitInfo,
    settings: input.env.settings,
    options: {
      bundleUris: featureFlags['FF_USE_GIT_BUNDLE_URIS'] !== false,
      userAgent: ['fleetrunner', version, arch].filter((p) => p !== '').join(' '),
      ...input.git,
    },
  };
}

function writePrepare(w: ScriptWriter, input: ScriptInput): void {
  const via = input.managerHostname ? ` via ${input.managerHostname}` : '';
  // The kernel's host name without a fork where /proc has it (Linux), else `hostname`.
  w.line('if [ -r /proc/sys/kernel/hostname ] && read -r __fr_host < /proc/sys/kernel/hostname; then :; else __fr_host=$(hostname 2>/dev/null || uname -n); fi');
  w.line(`printf '%s\\n' "Running on $__fr_host"${shellQuote(`${via}...`)}`);
  w.rmFile(pathWord(gitlabEnvPath(input.env.paths)));
}

function hookScripts(input: ScriptInput, name: string): string[] {
  return (input.hooks ?? []).filter((h) => h.name === name).flatMap((h) => [...h.script]);
}

/** The pre and post get_sources scripts (runner entry and job hooks); none unless the strategy fetches sources. */
function sourcesHooks(input: ScriptInput): { pre: string[]; post: string[] } {
  const strategy = input.env.settings.gitStrategy;
  if (strategy !== 'clone' && strategy !== 'fetch') return { pre: [], post: [] };
  const scripts = input.runnerScripts ?? {};
  return {
    pre: [...(scripts.preGetSourcesScript ? [scripts.preGetSourcesScript] : []), ...hookScripts(input, 'pre_get_sources_script')],
    post: [...hookScripts(input, 'post_get_sources_script'), ...(scripts.postGetSourcesScript ? [scripts.postGetSourcesScript] : [])],
  };
}

/** The hooks around a copied working tree (`runner exec`); false when there are none. */
function writeCopiedSourcesHooks(w: ScriptWriter, input: ScriptInput, part: 'pre' | 'post'): boolean {
  const commands = sourcesHooks(input)[part];
  if (commands.length === 0) return false;
  writeExports(w, input.env.variables, input.env.paths, { jobStatus: input.jobStatus });
  if (part === 'post') w.commandLine(`cd ${pathWord(input.env.paths.projectDir)}`);
  writeUserCommands(w, part === 'pre' ? 'pre_clone_script' : 'post_clone_script', commands, sections(input));
  return true;
}

function writeGetSources(w: ScriptWriter, input: ScriptInput): boolean {
  if (input.copiedSources) return writeCopiedSourcesHooks(w, input, input.copiedSources);
  writeExports(w, input.env.variables, input.env.paths, { jobStatus: input.jobStatus, ensureTempDir: true });
  exportLine(w, 'GIT_TERMINAL_PROMPT', '0');
  exportLine(w, 'GCM_INTERACTIVE', 'Never');
  const settings = input.env.settings;
  const { pre, post } = sourcesHooks(input);
  if (pre.length > 0) writeUserCommands(w, 'pre_clone_script', pre, sections(input));

  const git = gitInput(input);
  writeCloneFetch(w, git);
  writeSubmodules(w, settings);

  if (post.length > 0) writeUserCommands(w, 'post_clone_script', post, sections(input));
  // Only a stage that ran git can have left the token with a credential helper (cleanup clears it whatever the strategy).
  if (settings.gitStrategy === 'clone' || settings.gitStrategy === 'fetch') writeClearGitCredentials(w, git);
  return true;
}

function writeClearWorktree(w: ScriptWriter, input: ScriptInput): void {
  w.notice('Deleting tracked and untracked files...');
  const dir = pathWord(input.env.paths.projectDir);
  w.ifDirectory(dir);
  w.commandLine(`cd ${dir}`);
  w.command('git', 'rm', '-rf', '--ignore-unmatch', '--quiet', '.');
  w.command('git', 'clean', '-ffdx', '-q');
  w.endIf();
}

function writeStep(w: ScriptWriter, input: ScriptInput, stage: StageName): boolean {
  const step = input.steps.find((s) => s.name !== 'after_script' && stepStage(s) === stage);
  if (step === undefined) return false;
  exportsAndCd(w, input);
  const scripts = input.runnerScripts ?? {};
  const withSections = sections(input);
  if (scripts.preBuildScript) writeUserCommands(w, 'pre_build_script', [scripts.preBuildScript], withSections);
  let commands = step.script;
  if (step.name === 'release') {
    // GitLab turns `release:` into a step whose lines the runner expands itself.
    const lookup = variableLookup(input.env.variables);
    commands = commands.map((c) => expandString(c, lookup));
  }
  writeUserCommands(w, 'script_step', commands, withSections);
  if (scripts.postBuildScript) writeUserCommands(w, 'post_build_script', [scripts.postBuildScript], withSections);
  return true;
}

function writeAfterScript(w: ScriptWriter, input: ScriptInput): boolean {
  const step = input.steps.find((s) => s.name === 'after_script');
  if (step === undefined || step.script.length === 0) return false;
  exportsAndCd(w, input);
  w.notice('Running after script...');
  writeUserCommands(w, 'after_script_step', step.script, sections(input));
  return true;
}

function writeCleanup(w: ScriptWriter, input: ScriptInput): void {
  const { paths, variables, settings, featureFlags } = input.env;
  writeExports(w, variables, paths, { jobStatus: input.jobStatus, writeFiles: false });
  const git = gitInput(input);
  writeClearGitCredentials(w, git);
  w.rmFile(pathWord(gitlabEnvPath(paths)));
  w.rmFile(pathWord(posix.join(paths.tempDir, EXTERNAL_GIT_CONFIG_FILE)));
  w.rmDir(pathWord(posix.join(paths.tempDir, GIT_TEMPLATE_DIR)));
  for (const key of new Set(variables.filter((v) => v.file).map((v) => v.key))) {
    w.rmFile(pathWord(fileVariablePath(paths, key)));
  }
  if (isFlagOn(featureFlags, 'FF_ENABLE_JOB_CLEANUP')) writeBuildDirCleanup(w, input);
  if (settings.gitStrategy === 'clone' || settings.gitStrategy === 'fetch') writeGitCleanup(w, git);
}

function writeBuildDirCleanup(w: ScriptWriter, input: ScriptInput): void {
  const { paths, settings } = input.env;
  const dir = pathWord(paths.projectDir);
  switch (settings.gitStrategy) {
    case 'clone':
    case 'empty':
      w.rmDir(dir);
      return;
    case 'none':
      w.notice('Skipping build directory cleanup step');
      return;
    case 'fetch': {
      w.ifDirectory(dir);
      w.commandLine(`cd ${dir}`);
      const clean = settings.gitCleanFlags.length > 0 ? ['git', 'clean', ...settings.gitCleanFlags] : [];
      if (clean.length > 0) w.command(...clean);
      w.command('git', 'reset', '--hard');
      if (settings.gitSubmoduleStrategy !== 'none') {
        const foreach = ['git', 'submodule', 'foreach', ...(settings.gitSubmoduleStrategy === 'recursive' ? ['--recursive'] : [])];
        if (clean.length > 0) w.command(...foreach, ...clean);
        w.command(...foreach, 'git', 'reset', '--hard');
      }
      w.endIf();
    }
  }
}

function writeBody(w: ScriptWriter, stage: StageName, input: ScriptInput): boolean {
  switch (stage) {
    case 'prepare_script':
      writePrepare(w, input);
      return true;
    case 'get_sources':
      return writeGetSources(w, input);
    case 'clear_worktree':
      writeClearWorktree(w, input);
      return true;
    case 'after_script':
      return writeAfterScript(w, input);
    case 'cleanup_file_variables':
      writeCleanup(w, input);
      return true;
    case 'restore_cache':
    case 'download_artifacts':
    case 'archive_cache':
    case 'archive_cache_on_failure':
    case 'upload_artifacts_on_success':
    case 'upload_artifacts_on_failure':
      // Transfer stages: the manager moves cache and artifacts over the connection (job/transfers.ts).
      return false;
    default:
      return writeStep(w, input, stage);
  }
}

/**
 * Generates the script of one stage for `input.shell`, to be fed on stdin to {@link shellCommand}; `null` when the
 * stage has nothing to do and must be skipped (no such step, no after_script, a cache/artifact transfer stage).
 * The script exits with the stage's status: 0 on success, the failing command's code otherwise (errexit).
 */
export function generateStageScript(stage: StageName, input: ScriptInput): string | null {
  const w = writer(input);
  if (!writeBody(w, stage, input)) return null;
  const withSections = input.stageSections ?? true;
  return finishScript(w.toString(), {
    shell: input.shell,
    strategy: evalStrategy(input.env.featureFlags),
    debugTrace: input.env.debugTrace,
    section: withSections
      ? { name: stage, header: stageDescription(stage), collapsed: input.collapsedStages?.includes(stage) ?? false }
      : undefined,
  });
}
