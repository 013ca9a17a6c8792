import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { RunnerError, createLogger, toRunnerError, type Logger } from '@fleetrunner/common';
import { runConformance, runPlugin, type CheckResult } from '@fleetrunner/fleeting';
import { table, type Output } from '../output.js';
import { resolvePluginPath } from '../plugin-path.js';

export const usage = `Usage: runner fleeting conformance <plugin path or name> [--config plugin_config.json] [--instances N] [--timeout SECONDS]

Runs the fleeting conformance suite against a plugin binary and prints each check.
"local" is the embedded local plugin (instances are SSH servers on this machine).`;

function readPluginConfig(path: string | undefined, ref: string): unknown {
  if (!path) return ref === 'local' ? {} : {};
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new RunnerError('not_found', `reading ${path}: ${toRunnerError(err).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new RunnerError('invalid_argument', `${path}: not valid JSON: ${toRunnerError(err).message}`);
  }
}

/** `runner fleeting conformance`: exit 0 when every check passes, 1 otherwise, 2 on usage errors. */
export async function fleetingConformance(args: string[], io: Output, logger: Logger = createLogger({ level: 'warn' })): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      instances: { type: 'string', default: '2' },
      timeout: { type: 'string', default: '180' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.out(usage);
    return 0;
  }
  const ref = positionals[0];
  if (!ref || positionals.length > 1) {
    io.err(usage);
    return 2;
  }
  const instances = Number(values.instances);
  const timeoutS = Number(values.timeout);
  if (!Number.isInteger(instances) || instances < 1) throw new RunnerError('invalid_argument', `--instances: expected an integer ≥ 1, got ${values.instances}`);
  if (!(timeoutS > 0)) throw new RunnerError('invalid_argument', `--timeout: expected seconds > 0, got ${values.timeout}`);
  const path = await resolvePluginPath(ref);
  const pluginConfig = readPluginConfig(values.config, ref);
  io.out(`plugin: ${path}`);
  const plugin = await runPlugin(path, { logger });
  const checks: CheckResult[] = [];
  try {
    const report = await runConformance(plugin.group, {
      pluginConfig,
      instances,
      timeoutMs: timeoutS * 1000,
      logger,
      onCheck: (c) => {
        checks.push(c);
        io.out(`${c.status.toUpperCase().padEnd(4)} ${c.name} (${c.durationMs} ms)`);
      },
    });
    io.out('');
    io.out(table(['CHECK', 'RESULT', 'MS', 'DETAIL'], checks.map((c) => [c.name, c.status, String(c.durationMs), c.detail])));
    const failed = checks.filter((c) => c.status === 'fail').length;
    io.out(`\n${checks.length - failed} of ${checks.length} checks passed${report.provider ? ` (provider ${report.provider.id}, version ${report.provider.version})` : ''}`);
    return report.passed ? 0 : 1;
  } finally {
    await plugin.stop();
  }
}
