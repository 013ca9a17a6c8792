import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RunnerError, toRunnerError } from '@fleetrunner/common';
import { lookPath } from '@fleetrunner/installer';

/** Path of the embedded `local` plugin's executable. */
export function localPluginPath(): string {
  const entry = fileURLToPath(import.meta.resolve('@fleetrunner/plugin-local'));
  // entry = <pkg>/dist/src/index.js
  return join(dirname(dirname(dirname(entry))), 'bin', 'plugin.js');
}

/**
 * Resolves a `[runners.autoscaler] plugin` reference to an executable: `local` is the embedded plugin; anything
 * else goes through the installer's lookup (a path as given; the highest installed version matching the
 * constraint; a bare name on PATH), the same lookup `runner fleeting list` shows.
 */
export async function resolvePluginPath(ref: string): Promise<string> {
  if (ref === 'local') return localPluginPath();
  try {
    return (await lookPath(ref)).path;
  } catch (err) {
    throw new RunnerError('not_found', `plugin ${ref}: ${toRunnerError(err).message} (install it with "runner fleeting install")`, { cause: err });
  }
}
