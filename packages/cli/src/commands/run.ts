import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { RunnerError, toRunnerError, type Logger } from '@fleetrunner/common';
import { formatDiagnostics, loadConfig } from '@fleetrunner/config';
import { parseLogFormat, parseLogLevel, type GlobalFlags } from '../global-flags.js';
import { defaultConfigPath } from '../config-path.js';
import type { Output } from '../output.js';
import { builtinPlugins } from '../plugin-path.js';
import { logLevelOf, runLogger } from '../log-setup.js';
import { JobGuard, Manager, ManagerMetrics, logConfigWarnings } from '@fleetrunner/manager';
import { cliVersion } from '../version.js';

export const usage = `Usage: runner [global flags] run [--config FILE] [--listen-address HOST:PORT] [--working-directory DIR]
                  [--service NAME] [--user USER] [--syslog]

  -c, --config FILE            config.toml (CONFIG_FILE; default /etc/gitlab-runner/config.toml as root)
  --listen-address HOST:PORT   metrics server, wins over listen_address (LISTEN_ADDRESS)
  -d, --working-directory DIR  the manager's working directory (relative paths of the config resolve from it)
  -n, --service NAME           the service name (logged; "gitlab-runner" by default, as the unit passes it)
  -u, --user USER              accepted as the service unit passes it; jobs run on instances as the connector's
                               username, so it changes nothing here (logged)
  --syslog                     (LOG_SYSLOG) accepted; the log stays on stderr, which journald and syslog collect

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

/** What to do about a runner without `[runners.autoscaler]` (as `register` writes one given no template). */
export const AUTOSCALER_HINT =
  'hint: a runner registered without a template has no [runners.autoscaler]; add one with the plugin that provides instances ' +
  '(by hand, or "runner register --template-config FILE" with the [runners.autoscaler] section; plugin = "local" runs jobs on this host)';

/** `runner run`. Resolves to the exit code once the manager has stopped. */
export async function runCommand(args: string[], io: Output, globals: GlobalFlags = { level: undefined, format: undefined }, hooks: RunHooks = { exit: (c) => process.exit(c) }): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string', short: 'c' },
      'listen-address': { type: 'string' },
      'working-directory': { type: 'string', short: 'd' },
      service: { type: 'string', short: 'n' },
      user: { type: 'string', short: 'u' },
      syslog: { type: 'boolean' },
      // Also taken after the command (earlier releases of this CLI documented them there).
      'log-format': { type: 'string' },
      'log-level': { type: 'string', short: 'l' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.out(usage);
    return 0;
  }
  const format = values['log-format'] !== undefined ? parseLogFormat('--log-format', values['log-format']) : globals.format;
  const level = values['log-level'] !== undefined ? parseLogLevel('--log-level', values['log-level']) : globals.level;
  const workDir = values['working-directory'];
  if (workDir !== undefined) {
    try {
      process.chdir(workDir);
    } catch (err) {
      throw new RunnerError('invalid_argument', `--working-directory ${workDir}: ${toRunnerError(err).message}`);
    }
  }
  const listenAddress = values['listen-address'] ?? (process.env.LISTEN_ADDRESS || undefined);
  // The manager churns through many small per-job objects (trace rounds, SSH data, HTTP calls): V8's memory-saving
  // heuristics keep the heap close to its live size (peak RSS −30 % at 200 jobs, see tools/bench manager) for more
  // frequent collections. FLEETRUNNER_V8_SPEED=1 keeps V8's defaults.
  if (process.env.FLEETRUNNER_V8_SPEED !== '1') setFlagsFromString('--optimize-for-size');
  const file = resolve(values.config ?? defaultConfigPath());
  const result = await loadConfig(file, { env: process.env });
  if (result.errors.length > 0 || !result.config) {
    io.err(formatDiagnostics(result));
    if (result.errors.some((e) => /^runners\[\d+\]\.autoscaler$/.test(e.path ?? ''))) io.err(AUTOSCALER_HINT);
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
  if (values.service !== undefined) logger.info('service name', { service: values.service });
  if (values.user !== undefined) logger.info('--user is not used by the instance executor: jobs run on instances as the connector username', { user: values.user });
  if (values.syslog || ['1', 'true'].includes(process.env.LOG_SYSLOG ?? '')) logger.info('--syslog: the log is written to stderr (journald and syslog collect it)');
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
    ...(listenAddress !== undefined ? { listenAddress } : {}),
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
