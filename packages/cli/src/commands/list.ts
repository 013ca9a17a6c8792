import { parseArgs } from 'node:util';
import { formatDiagnostics, loadConfig } from '@fleetrunner/config';
import { defaultConfigPath } from '../config-path.js';
import { table, type Output } from '../output.js';
import { shortToken } from '@fleetrunner/gitlab';

export const usage = `Usage: runner list [--config FILE]

Lists the [[runners]] entries of the config file: name, executor, short token, URL, plugin.
(Tokens are shown in their short form, as in metrics and logs.)`;

/** `runner list`. */
export async function listCommand(args: string[], io: Output): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    io.out(usage);
    return 0;
  }
  const file = values.config ?? defaultConfigPath();
  const result = await loadConfig(file, { env: process.env });
  if (!result.config) {
    io.err(formatDiagnostics(result));
    return 1;
  }
  io.out(`Listing configured runners (config file ${file})`);
  io.out(
    table(
      ['NAME', 'EXECUTOR', 'TOKEN', 'URL', 'PLUGIN'],
      result.config.runners.map((r) => [r.name || '-', r.executor, shortToken(r.token), r.url, r.autoscaler?.plugin ?? '-']),
    ),
  );
  if (result.errors.length > 0) io.err(formatDiagnostics(result));
  return result.errors.length > 0 ? 1 : 0;
}
