import { createLogger, type LogLevel, type Logger, type LogSink } from '@fleetrunner/common';

/**
 * Formats a time as hclog's JSON `@timestamp`: `2006-01-02T15:04:05.000000Z07:00` — exactly six fractional
 * digits and `Z`, which go-plugin hosts require (any other layout turns the line into plain text).
 */
export function hclogTimestamp(time: Date): string {
  const iso = time.toISOString(); // 2026-01-01T00:00:00.123Z
  return `${iso.slice(0, 23)}000Z`;
}

/** An hclog JSON line per entry: `@level`, `@message`, `@timestamp`, `@module`, then the fields. */
export function hclogSink(out: { write(s: string): unknown }, module: string): LogSink {
  return (e) => {
    const line: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(e.fields)) line[k] = v instanceof Error ? v.message : v;
    line['@level'] = e.level;
    line['@message'] = e.msg;
    line['@timestamp'] = hclogTimestamp(e.time);
    line['@module'] = module;
    out.write(`${JSON.stringify(line)}\n`);
  };
}

/** Options of {@link createHclogLogger}. */
export interface HclogLoggerOptions {
  /** hclog module name (`@module`); default `plugin`. */
  module?: string;
  /** Minimum level; default `trace` (the host filters by its own level). */
  level?: LogLevel;
  /** Default: the process's stderr. */
  out?: { write(s: string): unknown };
}

/** The Logger a plugin process uses: hclog JSON lines on stderr, which the host re-logs under the plugin's name. */
export function createHclogLogger(options: HclogLoggerOptions = {}): Logger {
  return createLogger({ level: options.level ?? 'trace', sink: hclogSink(options.out ?? process.stderr, options.module ?? 'plugin') });
}
