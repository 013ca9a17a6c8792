import type { DeepPartial } from './deep-partial.js';
import type { Env } from './env-expand.js';
import { readRunner } from './schema-runner.js';
import type { TableReader } from './table-reader.js';
import type { ConfigLogFormat, RunnerConfig } from './types.js';

const LOG_LEVELS = ['debug', 'info', 'warn', 'warning', 'error', 'fatal', 'panic'] as const;
const LOG_FORMATS: readonly ConfigLogFormat[] = ['runner', 'text', 'json'];

/** Schema of the top level of `config.toml` (the global keys and every `[[runners]]`). */
export function readGlobal(r: TableReader, env: Env): DeepPartial<RunnerConfig> {
  const level = r.choice('log_level', LOG_LEVELS);
  const out: DeepPartial<RunnerConfig> = {
    concurrent: r.int('concurrent', { min: 1 }),
    // ≤ 0 means "default" upstream for both, so they carry no bound here.
    checkIntervalMs: seconds(r.int('check_interval')),
    shutdownTimeoutMs: seconds(r.int('shutdown_timeout')),
    listenAddress: r.string('listen_address'),
    logLevel: level === 'warning' ? 'warn' : level,
    logFormat: r.choice('log_format', LOG_FORMATS),
    connectionMaxAgeMs: r.duration('connection_max_age'),
    sentryDsn: r.string('sentry_dsn'),
    labels: r.map('labels', 'a string', (n) => (n.type === 'string' ? n.value : undefined)),
  };
  const runners = r.tables('runners');
  if (runners) out.runners = runners.map((runner) => readRunner(runner, env));
  r.ignore('user', 'the SSH user comes from [runners.autoscaler.connector_config] username');
  r.ignore('session_server', 'the instance executor has no interactive web terminal');
  r.ignore('machine', '[machine] configures the docker+machine executor');
  r.ignore('experimental', 'experimental runner features are not supported');
  r.finish();
  return out;
}

function seconds(v: number | undefined): number | undefined {
  return v === undefined ? undefined : v * 1000;
}
