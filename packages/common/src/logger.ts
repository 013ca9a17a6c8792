/** Log levels in increasing severity. */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

const LEVELS: Record<LogLevel, number> = { trace: 0, debug: 1, info: 2, warn: 3, error: 4 };

/** Structured fields attached to a log entry. */
export type LogFields = Record<string, unknown>;

/** One log entry as handed to a sink. */
export interface LogEntry {
  time: Date;
  level: LogLevel;
  msg: string;
  fields: LogFields;
}

/** The injected structured logger. `child()` adds fields to every entry it writes. */
export interface Logger {
  trace(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  log(level: LogLevel, msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
  enabled(level: LogLevel): boolean;
}

/** Where entries go. */
export type LogSink = (entry: LogEntry) => void;

export interface LoggerOptions {
  /** Minimum level written; default `info`. */
  level?: LogLevel;
  /** Default: text lines on stderr. */
  sink?: LogSink;
  fields?: LogFields;
  /** Values replaced with `[MASKED]` wherever they appear in messages or string fields. */
  secrets?: () => readonly string[];
}

/** True if `s` names a log level. */
export function isLogLevel(s: string): s is LogLevel {
  return s in LEVELS;
}

class StructuredLogger implements Logger {
  constructor(
    private readonly minLevel: number,
    private readonly sink: LogSink,
    private readonly fields: LogFields,
    private readonly secrets: (() => readonly string[]) | undefined,
  ) {}

  enabled(level: LogLevel): boolean {
    return LEVELS[level] >= this.minLevel;
  }

  log(level: LogLevel, msg: string, fields?: LogFields): void {
    if (!this.enabled(level)) return;
    let all: LogFields = fields ? { ...this.fields, ...fields } : this.fields;
    if (this.secrets) {
      const list = this.secrets().filter((s) => s.length > 0);
      if (list.length > 0) {
        msg = maskAll(msg, list);
        all = Object.fromEntries(Object.entries(all).map(([k, v]) => [k, typeof v === 'string' ? maskAll(v, list) : v]));
      }
    }
    this.sink({ time: new Date(), level, msg, fields: all });
  }

  trace(msg: string, fields?: LogFields): void {
    this.log('trace', msg, fields);
  }
  debug(msg: string, fields?: LogFields): void {
    this.log('debug', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.log('info', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.log('warn', msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.log('error', msg, fields);
  }

  child(fields: LogFields): Logger {
    return new StructuredLogger(this.minLevel, this.sink, { ...this.fields, ...fields }, this.secrets);
  }
}

function maskAll(s: string, secrets: readonly string[]): string {
  let out = s;
  for (const secret of secrets) out = out.split(secret).join('[MASKED]');
  return out;
}

/** Creates a logger. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return new StructuredLogger(
    LEVELS[options.level ?? 'info'],
    options.sink ?? textSink(process.stderr),
    options.fields ?? {},
    options.secrets,
  );
}

/** A logger that drops everything. */
export const nullLogger: Logger = createLogger({ level: 'error', sink: () => {} });

function formatValue(v: unknown): string {
  if (v instanceof Error) return JSON.stringify(v.message);
  if (typeof v === 'string') return /[\s"=]/.test(v) || v === '' ? JSON.stringify(v) : v;
  return JSON.stringify(v) ?? String(v);
}

/** `2026-01-01T00:00:00.000Z INFO  message key=value` lines. */
export function textSink(out: { write(s: string): unknown }): LogSink {
  return (e) => {
    const kv = Object.entries(e.fields)
      .map(([k, v]) => `${k}=${formatValue(v)}`)
      .join(' ');
    out.write(`${e.time.toISOString()} ${e.level.toUpperCase().padEnd(5)} ${e.msg}${kv ? ' ' + kv : ''}\n`);
  };
}

/** One JSON object per line: `{"time","level","msg",...fields}`. */
export function jsonSink(out: { write(s: string): unknown }): LogSink {
  return (e) => {
    const fields = Object.fromEntries(
      Object.entries(e.fields).map(([k, v]) => [k, v instanceof Error ? v.message : v]),
    );
    out.write(JSON.stringify({ time: e.time.toISOString(), level: e.level, msg: e.msg, ...fields }) + '\n');
  };
}

/** Collects entries in memory (tests). */
export function memorySink(): LogSink & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const sink = ((e: LogEntry) => {
    entries.push(e);
  }) as LogSink & { entries: LogEntry[] };
  sink.entries = entries;
  return sink;
}
