import { posix } from 'node:path';
import type { JobPaths, JobStatus, JobVariable } from './types.js';
import { isValidVariableName, shellQuote } from './quote.js';
import { pathWord, type ScriptWriter } from './writer.js';
import { GITLAB_ENV_FILE } from './variables.js';

/** Runner-added variables whose value is a job path: exported absolute (anchored at the home dir) when relative. */
const PATH_VARIABLES = new Set(['CI_BUILDS_DIR', 'CI_PROJECT_DIR', 'RUNNER_TEMP_PROJECT_DIR', 'GITLAB_ENV']);

/** The file a file-type variable is written to: `<temp dir>/<key>`. */
export function fileVariablePath(paths: JobPaths, key: string): string {
  return posix.join(paths.tempDir, key);
}

/** The dotenv file `GITLAB_ENV` points at. */
export function gitlabEnvPath(paths: JobPaths): string {
  return posix.join(paths.tempDir, GITLAB_ENV_FILE);
}

/** Options of {@link writeExports}. */
export interface ExportOptions {
  /** Overrides CI_JOB_STATUS (after_script and later stages). */
  readonly jobStatus?: JobStatus;
  /** Write the contents of file variables (false in cleanup: only their paths are exported). Default true. */
  readonly writeFiles?: boolean;
  /** Create the temp dir and set its mode 0700 even when it exists (get_sources, once per job). Default: only when missing. */
  readonly ensureTempDir?: boolean;
}

/** `export KEY=<word>`. */
export function exportLine(w: ScriptWriter, key: string, word: string): void {
  w.commandLine(`export ${key}=${word}`);
}

/**
 * Writes the job environment: the temp dir (mode 0700), every variable exported with literal single-quote
 * quoting (values are never printed, and never re-expanded by the shell), file variables written to
 * `<temp dir>/<KEY>` with mode 0600 and exported as that path, then `GITLAB_ENV` exported and its dotenv
 * lines (`KEY=VALUE`, written by earlier stages) re-exported. Variables with names a shell cannot export are
 * skipped (see {@link invalidVariableNames}).
 */
export function writeExports(w: ScriptWriter, variables: readonly JobVariable[], paths: JobPaths, options: ExportOptions = {}): void {
  const tmp = pathWord(paths.tempDir);
  // Made (mode 0700) by the first stage that needs it; later stages only check it is there, without a fork.
  if (options.ensureTempDir !== true) w.ifRaw(`[ ! -d ${tmp} ]`);
  w.commandLine(`mkdir -p ${tmp}`);
  w.commandLine(`chmod 700 ${tmp}`);
  if (options.ensureTempDir !== true) w.endIf();
  const writeFiles = options.writeFiles ?? true;

  for (const v of variables) {
    // GITLAB_ENV is exported last, pointing at the file that is re-sourced below.
    if (!isValidVariableName(v.key) || (v.key === 'GITLAB_ENV' && v.internal === true)) continue;
    if (v.file) {
      const file = pathWord(fileVariablePath(paths, v.key));
      if (writeFiles) w.commandLine(`(umask 077 && rm -f ${file} && printf '%s' ${shellQuote(v.value)} > ${file})`);
      exportLine(w, v.key, file);
      continue;
    }
    let value = v.value;
    if (v.key === 'CI_JOB_STATUS' && options.jobStatus !== undefined) value = options.jobStatus;
    const isJobPath = v.internal === true && PATH_VARIABLES.has(v.key) && value !== '';
    exportLine(w, v.key, isJobPath ? pathWord(value) : shellQuote(value));
  }

  const env = pathWord(gitlabEnvPath(paths));
  exportLine(w, 'GITLAB_ENV', env);
  w.commandLine(`: >> ${env}`);
  w.line('while IFS= read -r __fr_line || [ -n "$__fr_line" ]; do');
  w.line('  case "${__fr_line%%=*}" in');
  w.line("    ''|[0-9]*|*[!A-Za-z0-9_]*) ;;");
  w.line('    *) case "$__fr_line" in *=*) export "$__fr_line" ;; esac ;;');
  w.line('  esac');
  w.line(`done < ${env}`);
}

/** Keys of `variables` that no POSIX shell can export (reported once by the caller, never their values). */
export function invalidVariableNames(variables: readonly JobVariable[]): string[] {
  return [...new Set(variables.filter((v) => !isValidVariableName(v.key)).map((v) => v.key))];
}
