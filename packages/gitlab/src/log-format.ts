// Job-log control sequences as GitLab renders them: ANSI colours and collapsible section markers.

/** ANSI sequences used in job logs, with the exact bytes GitLab Runner writes. */
export const ANSI = {
  boldBlack: '\x1b[30;1m',
  boldRed: '\x1b[31;1m',
  boldGreen: '\x1b[32;1m',
  boldYellow: '\x1b[33;1m',
  boldBlue: '\x1b[34;1m',
  boldMagenta: '\x1b[35;1m',
  boldCyan: '\x1b[36;1m',
  boldWhite: '\x1b[37;1m',
  yellow: '\x1b[0;33m',
  grey: '\x1b[0;37m',
  reset: '\x1b[0;m',
  /** Erase to end of line: GitLab uses it to hide section markers in the rendered log. */
  clear: '\x1b[0K',
} as const;

/** A colour name from {@link ANSI} other than the control codes. */
export type AnsiColour = Exclude<keyof typeof ANSI, 'reset' | 'clear'>;

/** Wraps `text` in the colour and a reset. */
export function colour(name: AnsiColour, text: string): string {
  return `${ANSI[name]}${text}${ANSI.reset}`;
}

/** A bold yellow warning line (`WARNING: …`) terminated by a newline, as the runner prints them. */
export function warningLine(text: string): string {
  return `${ANSI.boldYellow}WARNING: ${text}${ANSI.reset}\n`;
}

/** A bold red error line (`ERROR: …`) terminated by a newline. */
export function errorLine(text: string): string {
  return `${ANSI.boldRed}ERROR: ${text}${ANSI.reset}\n`;
}

/** A bold green line terminated by a newline (e.g. "Job succeeded"). */
export function successLine(text: string): string {
  return `${ANSI.boldGreen}${text}${ANSI.reset}\n`;
}

/** Options of a section header. */
export interface SectionOptions {
  /** Render the section collapsed in the UI. Default false. */
  collapsed?: boolean;
  /** Hide the section's duration in the UI. Default false. */
  hideDuration?: boolean;
}

const SECTION_NAME = /^[A-Za-z0-9_.-]+$/;

/** Throws unless `name` is a valid section name (GitLab accepts `[A-Za-z0-9_.-]`). */
function checkSectionName(name: string): void {
  if (!SECTION_NAME.test(name)) throw new RangeError(`invalid job log section name ${JSON.stringify(name)}`);
}

/**
 * The marker that opens section `name` at `unixSeconds` (whole seconds, UTC):
 * `section_start:<unix>:<name>[options]\r\x1b[0K`. Append the visible header text after it.
 */
export function sectionStart(name: string, unixSeconds: number, options: SectionOptions = {}): string {
  checkSectionName(name);
  const opts: string[] = [];
  if (options.collapsed) opts.push('collapsed=true');
  if (options.hideDuration) opts.push('hide_duration=true');
  const suffix = opts.length > 0 ? `[${opts.join(',')}]` : '';
  return `section_start:${Math.floor(unixSeconds)}:${name}${suffix}\r${ANSI.clear}`;
}

/** The marker that closes section `name` at `unixSeconds`: `section_end:<unix>:<name>\r\x1b[0K`. */
export function sectionEnd(name: string, unixSeconds: number): string {
  checkSectionName(name);
  return `section_end:${Math.floor(unixSeconds)}:${name}\r${ANSI.clear}`;
}

/**
 * A section header line as the runner prints it for a stage: start marker, then `header` in bold cyan and a
 * newline. `nowMs` is milliseconds since the epoch (take it from the injected Clock).
 */
export function sectionHeader(name: string, header: string, nowMs: number, options: SectionOptions = {}): string {
  return `${sectionStart(name, nowMs / 1000, options)}${colour('boldCyan', header)}\n`;
}

/**
 * The FF_TIMESTAMPS prefix of one log line: `2026-01-01T00:00:00.123000Z 00O ` — UTC time with microseconds
 * (`nowMs` has millisecond precision), the stream number as two hex digits, `O` stdout / `E` stderr, then a space
 * for a new line or `+` when the line continues the previous one.
 */
export function timestampPrefix(nowMs: number, stream: number, kind: 'O' | 'E', continuation = false): string {
  if (!Number.isInteger(stream) || stream < 0 || stream > 0xff) throw new RangeError(`stream number must be 0–255, got ${stream}`);
  const iso = new Date(nowMs).toISOString(); // 2026-01-01T00:00:00.123Z
  return `${iso.slice(0, -1)}000Z ${stream.toString(16).padStart(2, '0')}${kind}${continuation ? '+' : ' '}`;
}
