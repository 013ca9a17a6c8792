import { isLogLevel, type LogFields, type LogLevel, type Logger } from '@fleetrunner/common';

const HCLOG_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$/;
const PREFIXES: readonly [string, LogLevel][] = [
  ['[TRACE]', 'trace'],
  ['[DEBUG]', 'debug'],
  ['[INFO]', 'info'],
  ['[WARN]', 'warn'],
  ['[ERROR]', 'error'],
];

/** One stderr line as the host understands it. */
export interface RelayedLine {
  level: LogLevel;
  message: string;
  fields: LogFields;
}

/**
 * Splits a byte stream into lines. Lines longer than `maxLineBytes` (default 64 KiB, as go-plugin's scanner)
 * are emitted in fragments flagged `fragment`.
 */
export class LineSplitter {
  private buffer = '';

  constructor(
    private readonly onLine: (line: string, fragment: boolean) => void,
    private readonly maxLineBytes = 64 * 1024,
  ) {}

  push(chunk: Buffer | string): void {
    this.buffer += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    for (;;) {
      const nl = this.buffer.indexOf('\n');
      if (nl < 0) break;
      const line = this.buffer.slice(0, nl).replace(/\r$/, '');
      this.buffer = this.buffer.slice(nl + 1);
      this.emit(line);
    }
    while (this.buffer.length > this.maxLineBytes) {
      this.onLine(this.buffer.slice(0, this.maxLineBytes), true);
      this.buffer = this.buffer.slice(this.maxLineBytes);
    }
  }

  /** Emits what is left (a last line without newline). */
  end(): void {
    if (this.buffer !== '') this.emit(this.buffer);
    this.buffer = '';
  }

  private emit(line: string): void {
    if (line.length > this.maxLineBytes) {
      for (let i = 0; i < line.length; i += this.maxLineBytes) this.onLine(line.slice(i, i + this.maxLineBytes), true);
    } else {
      this.onLine(line, false);
    }
  }
}

/**
 * Interprets a plugin's stderr like a go-plugin host: hclog JSON lines (level from `@level`, message from
 * `@message`, other keys as fields; a `@timestamp` in another layout makes the line plain text; JSON without
 * `@level` is logged verbatim at debug), plain lines by `[LEVEL]` prefix, and after a `panic: ` or
 * `fatal error: ` line every untagged line at error ("panic mode").
 */
export class StderrInterpreter {
  private panicking = false;

  interpret(line: string): RelayedLine {
    const json = parseHclogJson(line);
    if (json) return json;
    for (const [prefix, level] of PREFIXES) if (line.startsWith(prefix)) return { level, message: line, fields: {} };
    if (line.startsWith('panic: ') || line.startsWith('fatal error: ')) this.panicking = true;
    return { level: this.panicking ? 'error' : 'debug', message: line, fields: {} };
  }
}

function parseHclogJson(line: string): RelayedLine | undefined {
  if (!line.startsWith('{')) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const obj = raw as Record<string, unknown>;
  const ts = obj['@timestamp'];
  if (ts !== undefined && (typeof ts !== 'string' || !HCLOG_TIMESTAMP.test(ts))) return undefined;
  const lvl = obj['@level'];
  if (typeof lvl !== 'string') return { level: 'debug', message: line, fields: {} };
  const level: LogLevel = isLogLevel(lvl.toLowerCase()) ? (lvl.toLowerCase() as LogLevel) : 'debug';
  const msg = obj['@message'];
  const fields: LogFields = {};
  for (const [k, v] of Object.entries(obj)) {
    if (k === '@level' || k === '@message') continue;
    fields[k === '@timestamp' ? 'timestamp' : k] = v;
  }
  return { level, message: typeof msg === 'string' ? msg : JSON.stringify(msg ?? ''), fields };
}

/**
 * Re-logs a plugin's stderr through `logger` and remembers the last `keep` messages (for start-failure errors).
 */
export class StderrRelay {
  private readonly interpreter = new StderrInterpreter();
  private readonly splitter: LineSplitter;
  private readonly recent: string[] = [];

  constructor(
    private readonly logger: Logger,
    private readonly keep = 20,
  ) {
    this.splitter = new LineSplitter((line, fragment) => this.line(line, fragment));
  }

  push(chunk: Buffer | string): void {
    this.splitter.push(chunk);
  }

  end(): void {
    this.splitter.end();
  }

  /** The last lines' messages, oldest first. */
  lastLines(): string[] {
    return [...this.recent];
  }

  private line(line: string, fragment: boolean): void {
    if (fragment) {
      this.logger.debug(line, { fragment: true });
      return;
    }
    if (line.trim() === '') return;
    const entry = this.interpreter.interpret(line);
    this.recent.push(entry.message);
    if (this.recent.length > this.keep) this.recent.shift();
    this.logger.log(entry.level, entry.message, entry.fields);
  }
}
