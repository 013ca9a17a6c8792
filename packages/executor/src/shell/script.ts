import { RunnerError } from '@fleetrunner/common';
import type { ShellName } from './types.js';
import { shellQuote } from './quote.js';
import { ANSI, HOME_VAR, SET_NOW } from './writer.js';
import { isFlagOn, type FeatureFlags } from './feature-flags.js';

/**
 * How the stage body is evaluated (upstream `BashWriter.Finish`):
 * - `subshell` (default): `(trap 'exit 1' TERM; eval '<body>') < /dev/null`. Exit codes of failing commands
 *   propagate, user commands read EOF on stdin (never the rest of the script), and a TERM during cancellation
 *   ends the subshell cleanly instead of making bash dump the script body to the log.
 * - `legacy`: `: | eval '<body>'`, chosen by `FF_USE_LEGACY_BASH_EVAL=true` or `FF_USE_NEW_BASH_EVAL_STRATEGY=false`.
 *   In bash 4.0–5.3 a failing command inside it (`sh -c 'exit 3'`, `(exit 2)`) makes the job exit 1 instead
 *   of its own code; dash is not affected.
 */
export type EvalStrategy = 'subshell' | 'legacy';

/** The eval strategy the resolved flags select. */
export function evalStrategy(flags: FeatureFlags): EvalStrategy {
  if (isFlagOn(flags, 'FF_USE_LEGACY_BASH_EVAL')) return 'legacy';
  if (flags['FF_USE_NEW_BASH_EVAL_STRATEGY'] === false) return 'legacy';
  return 'subshell';
}

/** The command line the lead runs over SSH for one stage, the script being fed on stdin. */
export interface ShellCommand {
  /** The remote command string (`bash -s` / `sh -s`): a non-login shell reading the script from stdin. */
  readonly command: string;
  readonly argv: readonly string[];
}

/**
 * The remote command for `shell`. A non-login, non-interactive shell reads the script from stdin (`-s`), the way
 * upstream runs `bash`/`sh` with the script piped in; the SSH exec starts in the user's home. Exit status =
 * the stage's exit status (the script ends with `exit 0` on success).
 */
export function shellCommand(shell: ShellName): ShellCommand {
  switch (shell) {
    case 'bash':
      return { command: 'bash -s', argv: ['bash', '-s'] };
    case 'sh':
      return { command: 'sh -s', argv: ['sh', '-s'] };
    default:
      throw new RunnerError('unsupported', `unsupported shell ${JSON.stringify(shell as string)}: use bash or sh`, {
        details: { failureReason: 'runner_configuration_error' },
      });
  }
}

/** Options of {@link finishScript}. */
export interface FinishOptions {
  readonly shell: ShellName;
  readonly strategy: EvalStrategy;
  /** Stage section name and header; no markers when undefined. */
  readonly section?: { readonly name: string; readonly header: string; readonly collapsed?: boolean };
  /** CI_DEBUG_TRACE: the body runs with `set -o xtrace` (the trace goes to stderr, into the masked job log). */
  readonly debugTrace?: boolean;
}

/**
 * Wraps a stage body into the script fed to the remote shell: TERM trap, errexit (+ pipefail for bash),
 * noclobber off, the home directory captured for relative job paths, the stage section markers timestamped
 * on the instance (the end marker printed from an EXIT trap so it appears whatever the outcome), and the body
 * evaluated as one single-quoted word (so the shell has read all of it before a user command can touch stdin).
 */
export function finishScript(body: string, options: FinishOptions): string {
  const lines = [`#!/usr/bin/env ${options.shell}`, '', "trap 'exit 1' TERM", ''];
  if (options.shell === 'bash') lines.push('set -o pipefail');
  lines.push('set -o errexit', 'set +o noclobber', `${HOME_VAR}=\${HOME:-$(pwd)}`);

  const section = options.section && { ...options.section, name: options.section.name.replace(/[^A-Za-z0-9_.-]/g, '_') };
  if (section) {
    const opts = section.collapsed ? '[collapsed=true]' : '';
    const start = `section_start:%s:${section.name}${opts}\\r${ANSI.clear}${ANSI.boldCyan}%s${ANSI.reset}\\n`;
    lines.push(SET_NOW, `printf ${shellQuote(start)} "$__fr_now" ${shellQuote(section.header)}`);
    const end = `__fr_rc=$?; ${SET_NOW}; printf ${shellQuote(`section_end:%s:${section.name}\\r${ANSI.clear}\\n`)} "$__fr_now"; exit "$__fr_rc"`;
    lines.push(`trap ${shellQuote(end)} EXIT`);
  }

  // Turned on inside the evaluated word, so the trace starts with the body's first command, not with the eval line.
  const quoted = shellQuote(options.debugTrace ? `set -o xtrace\n${body}` : body);
  if (options.strategy === 'legacy') lines.push(`: | eval ${quoted}`);
  else lines.push(`(trap 'exit 1' TERM; eval ${quoted}) < /dev/null`);
  lines.push('exit 0', '');
  return lines.join('\n');
}
