import { createLogger, jsonSink, textSink, type LogLevel, type LogSink, type Logger } from '@fleetrunner/common';
import type { ConfigLogFormat, ConfigLogLevel } from '@fleetrunner/config';

/** `log_level` names (logrus) as the logger's levels. */
export function logLevelOf(level: ConfigLogLevel | string): LogLevel {
  switch (level) {
    case 'trace':
      return 'trace';
    case 'debug':
      return 'debug';
    case 'warn':
    case 'warning':
      return 'warn';
    case 'error':
    case 'fatal':
    case 'panic':
      return 'error';
    default:
      return 'info';
  }
}

/** Options of {@link runLogger}. */
export interface RunLoggerOptions {
  format: ConfigLogFormat | string;
  level: LogLevel;
  /** Values never written (runner tokens). */
  secrets: () => readonly string[];
  /** Told about every warning and error written (`gitlab_runner_errors_total`). */
  onProblem?: (level: 'warning' | 'error') => void;
  out?: { write(s: string): unknown };
}

/** The manager's logger: text (`runner`, `text`) or one JSON object per line (`json`), on stderr. */
export function runLogger(o: RunLoggerOptions): Logger {
  const out = o.out ?? process.stderr;
  const base: LogSink = o.format === 'json' ? jsonSink(out) : textSink(out);
  const sink: LogSink = (e) => {
    if (e.level === 'warn') o.onProblem?.('warning');
    else if (e.level === 'error') o.onProblem?.('error');
    base(e);
  };
  return createLogger({ level: o.level, sink, secrets: o.secrets });
}
