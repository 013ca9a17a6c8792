import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { RunnerError, systemClock, type Logger } from '@fleetrunner/common';
import { formatDiagnostics, runsHere, loadConfig, parseConfig, type AutoscalerConfig, type RunnerConfig, type RunnerEntry } from '@fleetrunner/config';
import { LocalArchiveStore, startFleet, type Fleet } from '@fleetrunner/executor';
import { builtinPlugins } from '../plugin-path.js';
import { table, type Output } from '../output.js';
import { LiveLog } from './live-log.js';
import { cliVersion } from '../version.js';
import { createSchedule, loadPipeline, runPipeline, type JobReport } from '@fleetrunner/pipeline';

export const usage = `Usage: runner exec [--config FILE] [--runner NAME] [--file .gitlab-ci.yml] [--report FILE] [JOB…]

Runs the jobs of a .gitlab-ci.yml on autoscaled instances through the real path: the config's
[runners.autoscaler] (plugin process, taskscaler), the SSH connector and the instance executor.
Without --config, the embedded "local" plugin (instances are SSH servers on this machine).
Named JOBs run with the jobs they need. Exit 1 when the pipeline fails.`;

/** The runner `runner exec` uses without a config file: the local plugin, a few small instances. */
const DEFAULT_CONFIG = `
concurrent = 4
[[runners]]
name = "exec"
url = "http://localhost"
token = "exec-local"
executor = "instance"
shell = "bash"
[runners.autoscaler]
plugin = "local"
capacity_per_instance = 2
max_instances = 3
delete_instances_on_shutdown = true
# Local instances boot in well under a second: poll often while waiting for them, keep them between stages.
update_interval_when_expecting = "250ms"
shutdown_deletion_interval = "250ms"
[runners.autoscaler.state_storage]
enabled = false
[[runners.autoscaler.policy]]
idle_count = 0
idle_time = "30s"
`;

async function chooseRunner(configFile: string | undefined, name: string | undefined, io: Output): Promise<{ config: RunnerConfig; runner: RunnerEntry; file: string }> {
  const result = configFile ? await loadConfig(configFile, { env: process.env }) : parseConfig(DEFAULT_CONFIG, { file: '(built-in exec config)', env: {} });
  if (result.errors.length > 0 || !result.config) throw new RunnerError('invalid_argument', formatDiagnostics(result));
  if (configFile && result.warnings.length > 0) io.err(formatDiagnostics(result));
  const runners = result.config.runners.filter((r) => runsHere(r) && r.autoscaler !== undefined && (!name || r.name === name));
  const runner = runners[0];
  if (!runner) throw new RunnerError('invalid_argument', `${result.file}: no [[runners]] entry${name ? ` named ${JSON.stringify(name)}` : ''} with [runners.autoscaler]`);
  return { config: result.config, runner, file: result.file };
}

function formatMs(ms: number | undefined): string {
  if (ms === undefined) return '';
  return ms < 1000 ? `${ms}ms` : `${(ms / 1000).toFixed(1)}s`;
}

function summary(reports: JobReport[]): string {
  return table(
    ['JOB', 'STATUS', 'INSTANCE', 'SLOT', 'DURATION', 'STAGES'],
    reports.map((r) => [
      r.name,
      r.status + (r.allowedToFail && r.status === 'failed' ? ' (allowed)' : '') + (r.exitCode !== undefined && r.status !== 'success' ? ` exit ${r.exitCode}` : ''),
      r.instanceId ?? '',
      r.slot === undefined ? '' : String(r.slot),
      formatMs(r.durationMs),
      r.stages.map((s) => `${s.name} ${formatMs(s.durationMs)}`).join(', ') || (r.message ?? ''),
    ]),
  );
}

/** Starts the fleet with its default state under `runDir`; removes `runDir` when that fails. */
async function startFleetOrClean(autoscaler: AutoscalerConfig, logger: Logger, runDir: string): Promise<Fleet> {
  try {
    return await startFleet(autoscaler, { logger, defaultStateDir: join(runDir, 'state'), builtinPlugins: builtinPlugins() });
  } catch (err) {
    rmSync(runDir, { recursive: true, force: true });
    throw err;
  }
}

/** `runner exec`. */
export async function execCommand(args: string[], io: Output, logger: Logger): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      runner: { type: 'string' },
      file: { type: 'string', short: 'f', default: '.gitlab-ci.yml' },
      report: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.out(usage);
    return 0;
  }
  const ciFile = resolve(values.file);
  const { config, runner } = await chooseRunner(values.config, values.runner, io);
  const autoscaler = runner.autoscaler!;
  const pipeline = await loadPipeline(ciFile, { projectDir: dirname(ciFile) });
  for (const w of pipeline.warnings) io.err(`${w.file}:${w.line}: warning: ${w.path ? `${w.path}: ` : ''}${w.message}`);
  if (!pipeline.run) {
    io.out(`pipeline does not run: ${pipeline.reason ?? 'workflow rules'}`);
    return 0;
  }
  const schedule = createSchedule(pipeline, { only: positionals });
  // One cache directory per project directory: the readable slug alone would give `/a/b_c` and `/a/b/c` one cache.
  const slug = `${pipeline.projectDir.replace(/[^A-Za-z0-9._-]+/g, '_').slice(-80)}-${createHash('sha256').update(pipeline.projectDir).digest('hex').slice(0, 12)}`;
  const cacheBase = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'fleetrunner');
  const cacheRoot = join(cacheBase, 'exec', slug);
  // This run's artifacts (and taskscaler state when the config names no dir): removed when the run ends.
  const runDir = mkdtempSync(join(tmpdir(), 'fleetrunner-exec-'));
  const removeRunDir = (): void => rmSync(runDir, { recursive: true, force: true });
  const concurrent = Math.max(1, runner.limit > 0 ? Math.min(runner.limit, config.concurrent) : config.concurrent);
  io.out(`runner exec ${cliVersion()}: ${schedule.jobs.length} job(s) from ${ciFile}, plugin ${autoscaler.plugin}, concurrent ${concurrent}, ${autoscaler.capacityPerInstance} job(s) per instance, max ${autoscaler.maxInstances || 'unlimited'} instance(s)`);
  const fleet = await startFleetOrClean(autoscaler, logger, runDir);
  const stop = new AbortController();
  const onSignal = (): void => stop.abort(new RunnerError('aborted', 'interrupted'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let reports: JobReport[];
  const live = new LiveLog((line) => io.out(line));
  try {
    reports = await runPipeline({
      pipeline,
      schedule,
      fleet,
      entry: runner,
      identity: { shortToken: runner.token.replace(/^glrt-/, '').slice(0, 9) || 'exec', version: { version: cliVersion(), revision: '' } },
      // The fleet frees capacity as instances finish deletion: look again at the pace the taskscaler polls the plugin.
      slotRetryMs: Math.min(1_000, autoscaler.updateIntervalWhenExpectingMs || 1_000),
      slotGiveUpMs: autoscaler.instanceAcquireTimeoutMs,
      concurrent,
      cache: new LocalArchiveStore(cacheRoot, { privateFrom: cacheBase }),
      artifacts: new LocalArchiveStore(join(runDir, 'artifacts')),
      clock: systemClock,
      logger,
      signal: stop.signal,
      onJobStart: (job, where) => io.out(`▶ ${job.name} started on ${where.instanceId} slot ${where.slot}`),
      onJobLog: (job, chunk) => live.write(job.name, chunk),
      onJobEnd: (r) => live.end(r.name, `━━━ ${r.name} (${r.status}) ${'━'.repeat(Math.max(3, 60 - r.name.length))}\n`),
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await fleet.stop().finally(removeRunDir);
  }
  io.out('\n' + summary(reports));
  const status = schedule.status();
  io.out(`\npipeline ${status}`);
  if (values.report) {
    writeFileSync(values.report, JSON.stringify({ status, jobs: reports.map((r) => ({ ...r, log: undefined })) }, null, 2) + '\n');
  }
  return status === 'success' ? 0 : 1;
}
