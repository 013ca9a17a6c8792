import { homedir } from 'node:os';
import { join } from 'node:path';
import { pluginFileName, type Platform } from './platform.js';
import type { PluginReference } from './reference.js';

/**
 * The plugin root: `$FLEETING_PLUGIN_PATH` when set, else `~/.config/fleeting/plugins` (`%APPDATA%\fleeting\plugins`
 * on Windows).
 */
export function installDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env['FLEETING_PLUGIN_PATH'];
  if (fromEnv) return fromEnv;
  if (process.platform === 'win32' && env['APPDATA']) return join(env['APPDATA'], 'fleeting', 'plugins');
  return join(homedir(), '.config', 'fleeting', 'plugins');
}

/** `<root>/<registry>/<repository path>/<name>`: the directory holding one version directory per install. */
export function pluginHome(root: string, ref: Pick<PluginReference, 'registry' | 'repository' | 'name'>): string {
  return join(root, ref.registry, ...ref.repository.split('/').filter(Boolean), ref.name);
}

/** `<plugin home>/<version>/plugin` (`plugin.exe` on Windows). */
export function pluginBinaryPath(root: string, ref: Pick<PluginReference, 'registry' | 'repository' | 'name'>, version: string, platform: Pick<Platform, 'os'>): string {
  return join(pluginHome(root, ref), version, pluginFileName(platform));
}

/** Name of the record written beside an installed plugin (what was installed, from where, with which digests). */
export const INSTALL_RECORD = '.fleetrunner-install.json';
