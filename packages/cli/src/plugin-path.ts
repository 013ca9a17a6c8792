import { basename, dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RunnerError } from '@fleetrunner/common';
import { lookPath } from '@fleetrunner/installer';

/** Path of the embedded `local` plugin's executable. */
export function localPluginPath(): string {
  const entry = fileURLToPath(import.meta.resolve('@fleetrunner/plugin-local'));
  // entry = <pkg>/dist/src/index.js
  return join(dirname(dirname(dirname(entry))), 'bin', 'plugin.js');
}

/** The plugin's name in logs and errors: the reference as configured (`local`, `aws:1`), a path's file name. */
export function pluginName(ref: string): string {
  return isAbsolute(ref) || ref.startsWith('./') || ref.startsWith('../') ? basename(ref) : ref;
}

/** The plugins this binary embeds, by the name `[runners.autoscaler] plugin` gives them. */
export function builtinPlugins(): Record<string, string> {
  return { local: localPluginPath() };
}

/** The end of a "not installed" message: the command that installs the plugins of `configFile`. */
export function installHint(configFile?: string): string {
  return `install it with "runner fleeting install${configFile ? ` --config ${configFile}` : ''}"`;
}

/**
 * Resolves a `[runners.autoscaler] plugin` reference to an executable through the installer's one lookup (the
 * embedded `local`; a path as given; the highest installed version matching the constraint;
 * `fleeting-plugin-<name>` on PATH for a bare name), the same lookup `runner fleeting list` and `install` use.
 * `configFile` goes into the hint of the `not_found` error.
 */
export async function resolvePluginPath(ref: string, options: { configFile?: string } = {}): Promise<string> {
  try {
    return (await lookPath(ref, { builtin: builtinPlugins(), installHint: installHint(options.configFile) })).path;
  } catch (err) {
    throw RunnerError.wrap('looking up the fleeting plugin', err, 'not_found');
  }
}
