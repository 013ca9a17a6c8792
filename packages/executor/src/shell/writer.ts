import { posix } from 'node:path';
import { shellJoin, shellQuote } from './quote.js';

/** ANSI sequences of the GitLab job log (upstream helpers/ansi_colors.go), as printf format escapes. */
export const ANSI = {
  boldGreen: '\\033[32;1m',
  boldRed: '\\033[31;1m',
  boldCyan: '\\033[36;1m',
  yellow: '\\033[0;33m',
  reset: '\\033[0;m',
  clear: '\\033[0K',
} as const;

/**
 * Sets `$__fr_now` to the instance's time in Unix seconds: bash's builtin `printf '%(%s)T'` where it has one (4.2+),
 * else a `date +%s` (dash, bash 3). For section markers, without a fork where the shell allows it.
 */
export const SET_NOW = "printf -v __fr_now '%(%s)T' -1 2>/dev/null || __fr_now=$(date +%s)";

/** Shell variable holding the SSH user's home, captured before any job variable could override HOME. */
export const HOME_VAR = '__fr_home';

/**
 * A path as one shell word: absolute paths are quoted literally, relative ones are anchored at the home
 * directory captured at script start, so they stay valid after the script `cd`s elsewhere.
 */
export function pathWord(p: string): string {
  return posix.isAbsolute(p) ? shellQuote(p) : `"$${HOME_VAR}"/${shellQuote(p)}`;
}

/** Builds the body of one stage script line by line. Every printed text goes through printf `%s`. */
export class ScriptWriter {
  private readonly out: string[] = [];
  private depth = 0;

  /** @param exitCodeCheck FF_ENABLE_BASH_EXIT_CODE_CHECK: check `$?` after every command, not only errexit. */
  constructor(private readonly exitCodeCheck = false) {}

  /** Appends one line verbatim (indented inside if-blocks). */
  line(text: string): void {
    this.out.push('  '.repeat(this.depth) + text);
  }

  /** Appends a command whose words are quoted literally. */
  command(...argv: string[]): void {
    this.line(shellJoin(argv));
    this.checkForErrors();
  }

  /** Appends a command line written by the caller (already quoted; may reference `$VARS`). */
  commandLine(text: string): void {
    this.line(text);
    this.checkForErrors();
  }

  /** Appends a user command verbatim (job script lines are shell source). */
  userCommand(text: string): void {
    this.out.push(text);
    this.checkForErrors();
  }

  checkForErrors(): void {
    if (!this.exitCodeCheck) return;
    this.line('_runner_exit_code=$?; if [ $_runner_exit_code -ne 0 ]; then exit $_runner_exit_code; fi');
  }

  private printf(color: string, text: string, end: string = ANSI.reset): void {
    this.line(`printf ${shellQuote(`${color}%s${end}\\n`)} ${shellQuote(text)}`);
  }

  /** Bold green line (upstream `Noticef`), e.g. `$ command` echoes and git progress. */
  notice(text: string): void {
    this.printf(ANSI.boldGreen, text);
  }

  /** Yellow line (upstream `Warningf`). */
  warning(text: string): void {
    this.printf(ANSI.yellow, text);
  }

  /** Bold red line (upstream `Errorf`). */
  error(text: string): void {
    this.printf(ANSI.boldRed, text);
  }

  /** Plain line after a colour reset (upstream `Printf`). */
  print(text: string): void {
    this.printf(ANSI.reset, text, '');
  }

  emptyLine(): void {
    this.line('echo');
  }

  /** Collapsible section inside a stage (FF_SCRIPT_SECTIONS), timestamped on the instance. */
  sectionStart(name: string, header: string, options: readonly string[]): void {
    const opts = options.length > 0 ? `[${options.join(',')}]` : '';
    const fmt = `section_start:%s:${name}${opts}\\r${ANSI.clear}${ANSI.boldGreen}%s${ANSI.reset}\\n`;
    this.line(SET_NOW);
    this.line(`printf ${shellQuote(fmt)} "$__fr_now" ${shellQuote(header)}`);
  }

  sectionEnd(name: string): void {
    this.line(SET_NOW);
    this.line(`printf ${shellQuote(`section_end:%s:${name}\\r${ANSI.clear}\\n`)} "$__fr_now"`);
  }

  /** `if <condition>; then` with the given raw condition text. */
  ifRaw(condition: string): void {
    this.line(`if ${condition}; then`);
    this.depth++;
  }

  /** `if cmd >/dev/null 2>&1; then`: a probe whose output is hidden. */
  ifCommandQuiet(...argv: string[]): void {
    this.ifRaw(`${shellJoin(argv)} >/dev/null 2>&1`);
  }

  ifDirectory(word: string): void {
    this.ifRaw(`[ -d ${word} ]`);
  }

  ifFile(word: string): void {
    this.ifRaw(`[ -e ${word} ]`);
  }

  else(): void {
    this.depth--;
    this.line('else');
    this.depth++;
  }

  endIf(): void {
    this.depth--;
    this.line('fi');
  }

  /** `rm -f` of one path word; no fork when there is nothing to remove. */
  rmFile(word: string): void {
    this.ifRaw(`[ -e ${word} ] || [ -L ${word} ]`);
    this.commandLine(`rm -f ${word}`);
    this.endIf();
  }

  /** Removes a directory tree, first making it writable (read-only trees left by a job would resist). */
  rmDir(word: string): void {
    this.ifDirectory(word);
    this.commandLine(`chmod -R u+rwX ${word}`);
    this.endIf();
    this.ifRaw(`[ -e ${word} ] || [ -L ${word} ]`);
    this.commandLine(`rm -r -f ${word}`);
    this.endIf();
  }

  /** Removes files called `name` below `dir` (portable `find -exec rm`, no `-delete`). */
  rmFilesRecursive(dirWord: string, name: string): void {
    this.ifDirectory(dirWord);
    this.commandLine(`find ${dirWord} -name ${shellQuote(name)} -type f -exec rm -f {} +`);
    this.endIf();
  }

  /** Removes directories called `name` below `dir`. */
  rmDirsRecursive(dirWord: string, name: string): void {
    this.ifDirectory(dirWord);
    this.commandLine(`find ${dirWord} -depth -name ${shellQuote(name)} -type d -exec rm -rf -- {} +`);
    this.endIf();
  }

  /** The body text; ends with a newline. */
  toString(): string {
    return this.out.length === 0 ? '' : `${this.out.join('\n')}\n`;
  }
}
