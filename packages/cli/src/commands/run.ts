import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { isLogLevel, type LogLevel, type Logger } from '@fleetrunner/common';
import { formatDiagnostics, loadConfig } from '@fleetrunner/config';
import { defaultConfigPath } from '../config-path.js';
import type { Output } from '../output.js';
import { builtinPlugins } from '../plugin-path.js';
import { logLevelOf, runLogger } from '../log-setup.js';
import { JobGuard, Manager, ManagerMetrics, logConfigWarnings } from '@fleetrunner/manager';
import { cliVersion } from '../version.js';

export const usage = `Usage: runner run [--config FILE] [--listen-address HOST:PORT] [--log-format runner|text|json] [--log-level LEVEL]

Runs the multi-runner manager: polls GitLab for every [[runners]] entry, runs jobs on autoscaled instances,
serves Prometheus metrics on listen_address (/metrics, /health/ready, /debug/jobs/list).
Signals: SIGQUIT drains (no new jobs, running jobs finish); SIGTERM/SIGINT abort running jobs within
shutdown_timeout (a second one exits at once); SIGHUP reloads the config (also re-read when it changes).`;

/** Process hooks of `runner run` (injectable for tests). */
export interface RunHooks {
  /** Ends the process (only after a forced stop ran out of time, or on a second SIGTERM/SIGINT). */
  exit(code: number): void;
  /** Called once the manager runs. */
  onStarted?(m: Manager): void;
}

/** Takes `run` and `--log-level` off the raw argument list (main hands it over as given). */
function split(argv: string[]): { level: LogLevel | undefined; rest: string[] } {
  const rest: string[] = [];
  let level: LogLevel | undefined;
  let droppedCommand = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!droppedCommand && a === 'run') {
      droppedCommand = true;
      continue;
    }
    const v = a === '--log-level' ? argv[++i] : a.startsWith('--log-level=') ? a.slice(12) : undefined;
    if (v === undefined) {
      rest.push(a);
      continue;
    }
    const l = v === 'warning' ? 'warn' : v;
    if (!isLogLevel(l)) throw new Error(`--log-level: expected trace, debug, info, warn or error, got ${v}`);
    level = l;
  }
  return { level, rest };
}

/** `runner run`. Resolves to the exit code once the manager has stopped. */
export async function runCommand(argv: string[], io: Output, hooks: RunHooks = { exit: (c) => process.exit(c) }): Promise<number> {
  const { level, rest } = split(argv);
  const { values } = parseArgs({
    args: rest,
    options: {
      config: { type: 'string', short: 'c' },
      'listen-address': { type: 'string' },
      'log-format': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.out(usage);
    return 0;
  }
  const format = values['log-format'];
  if (format !== undefined && !['runner', 'text', 'json'].includes(format)) throw new Error(`--log-format: expected runner, text or json, got ${format}`);
  // The manager churns through many small per-job objects (trace rounds, SSH data, HTTP calls): V8's memory-saving
  // heuristics keep the heap close to its live size (peak RSS −30 % at 200 jobs, see tools/bench manager) for more
  // frequent collections. FLEETRUNNER_V8_SPEED=1 keeps V8's defaults.
  if (process.env.FLEETRUNNER_V8_SPEED !== '1') setFlagsFromString('--optimize-for-size');
  const file = resolve(values.config ?? defaultConfigPath());
  const result = await loadConfig(file, { env: process.env });
  if (result.errors.length > 0 || !result.config) {
    io.err(formatDiagnostics(result));
    return 1;
  }
  const config = result.config;
  const current: { manager?: Manager } = {};
  const version = { version: cliVersion(), revision: 'unknown' };
  const metrics = new ManagerMetrics(version);
  const logger = runLogger({
    format: format ?? config.logFormat,
    level: level ?? logLevelOf(config.logLevel),
    secrets: () => current.manager?.tokens() ?? config.runners.map((r) => r.token),
    onProblem: (l) => metrics.errors.inc({ level: l }),
  });
  logConfigWarnings(logger, result.warnings);
  // From here on an error that escapes from a job fails that job, not the whole manager.
  const guard = new JobGuard(logger);
  guard.install();
  const manager = await Manager.start({
    guard,
    builtinPlugins: builtinPlugins(),
    configFile: file,
    config,
    env: process.env,
    logger,
    metrics,
    version,
    ...(values['listen-address'] !== undefined ? { listenAddress: values['listen-address'] } : {}),
  });
  current.manager = manager;
  hooks.onStarted?.(manager);
  try {
    return await serve(manager, logger, hooks);
  } finally {
    guard.uninstall();
  }
}

/** Routes the signals to the manager until it has stopped; resolves to the exit code. */
async function serve(manager: Manager, logger: Logger, hooks: RunHooks): Promise<number> {
  let forced = 0;
  const onQuit = (): void => {
    logger.info('SIGQUIT received');
    manager.drain();
  };
  const onTerm = (sig: NodeJS.Signals): void => {
    logger.info(`${sig} received`);
    if (++forced > 1) {
      logger.warn('second signal: exiting now');
      hooks.exit(1);
      return;
    }
    manager.stop();
  };
  const onHup = (): void => {
    logger.info('SIGHUP received: reloading the config');
    manager.reload().catch((err: unknown) => logger.error('reloading the config failed', { error: err instanceof Error ? err.message : String(err) }));
  };
  process.on('SIGQUIT', onQuit);
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onTerm);
  process.on('SIGHUP', onHup);
  try {
    const exit = await manager.done;
    if (exit.timedOut) {
      hooks.exit(1);
      return 1;
    }
    return 0;
  } finally {
    process.off('SIGQUIT', onQuit);
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onTerm);
    process.off('SIGHUP', onHup);
  }
}
