import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The config file used when `--config` is absent: `$CONFIG_FILE`, else `/etc/gitlab-runner/config.toml` as root and
 * `~/.gitlab-runner/config.toml` otherwise (gitlab-runner's defaults).
 */
export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CONFIG_FILE) return env.CONFIG_FILE;
  return process.getuid?.() === 0 ? '/etc/gitlab-runner/config.toml' : join(homedir(), '.gitlab-runner', 'config.toml');
}
