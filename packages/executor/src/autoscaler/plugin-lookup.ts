import { basename, isAbsolute } from 'node:path';
import { RunnerError } from '@fleetrunner/common';
import { lookPath } from '@fleetrunner/installer';

/** The plugin's name in logs and errors: the reference as configured (`local`, `aws:1`), a path's file name. */
export function pluginName(ref: string): string {
  return isAbsolute(ref) || ref.startsWith('./') || ref.startsWith('../') ? basename(ref) : ref;
}

/** The end of a "not installed" message: the command that installs the plugins of `configFile`. */
export function installHint(configFile?: string): string {
  return `install it with "runner fleeting install${configFile ? ` --config ${configFile}` : ''}"`;
}

/** Options of {@link resolvePluginPath}. */
export interface PluginLookupOptions {
  /** Plugins the binary embeds, by the name `[runners.autoscaler] plugin` gives them (the command line supplies them). */
  builtin?: Readonly<Record<string, string>>;
  /** The config file, for the hint of the `not_found` error. */
  configFile?: string;
}

/**
 * Resolves a `[runners.autoscaler] plugin` reference to an executable through the installer's one lookup (an
 * embedded plugin; a path as given; the highest installed version matching the constraint;
 * `fleeting-plugin-<name>` on PATH for a bare name), the same lookup `runner fleeting list` and `install` use.
 */
export async function resolvePluginPath(ref: string, options: PluginLookupOptions = {}): Promise<string> {
  try {
    return (await lookPath(ref, { builtin: { ...options.builtin }, installHint: installHint(options.configFile) })).path;
  } catch (err) {
    throw RunnerError.wrap('looking up the fleeting plugin', err, 'not_found');
  }
}
