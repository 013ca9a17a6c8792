import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolvePluginPath as lookUp } from '@fleetrunner/executor';

/** Path of the embedded `local` plugin's executable. */
export function localPluginPath(): string {
  const entry = fileURLToPath(import.meta.resolve('@fleetrunner/plugin-local'));
  // entry = <pkg>/dist/src/index.js
  return join(dirname(dirname(dirname(entry))), 'bin', 'plugin.js');
}

/** The plugins this binary embeds, by the name `[runners.autoscaler] plugin` gives them. */
export function builtinPlugins(): Record<string, string> {
  return { local: localPluginPath() };
}

/** The executor's plugin lookup with this binary's embedded plugins. */
export function resolvePluginPath(ref: string, options: { configFile?: string } = {}): Promise<string> {
  return lookUp(ref, { ...options, builtin: builtinPlugins() });
}
