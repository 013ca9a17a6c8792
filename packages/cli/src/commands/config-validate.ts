import { parseArgs } from 'node:util';
import { formatDiagnostics, loadConfig } from '@fleetrunner/config';
import type { Output } from '../output.js';
import { defaultConfigPath } from '../config-path.js';

export const usage = `Usage: runner config validate [--config FILE]

Checks a GitLab-Runner-compatible config.toml: every error and warning with file, line and key path.
Exit 1 on any error.`;

/** `runner config validate`. */
export async function configValidate(args: string[], io: Output): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    io.out(usage);
    return 0;
  }
  const file = values.config ?? defaultConfigPath();
  const result = await loadConfig(file, { env: process.env });
  const text = formatDiagnostics(result);
  if (result.errors.length > 0) io.err(text);
  else io.out(text);
  return result.errors.length > 0 ? 1 : 0;
}
