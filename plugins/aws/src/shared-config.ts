import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Sections of an INI-style AWS shared config file: section name → key → value. */
export function parseIni(text: string): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[\s*([^\]]+?)\s*\]$/.exec(line);
    if (header) {
      current = new Map();
      sections.set(header[1]!.replace(/\s+/g, ' '), current);
      continue;
    }
    const at = line.indexOf('=');
    // Lines of nested sub-settings (indented in the file) are not needed here.
    if (current && at > 0 && !/^\s/.test(raw)) current.set(line.slice(0, at).trim().toLowerCase(), line.slice(at + 1).trim());
  }
  return sections;
}

/** Where the environment says the shared config file is. */
export function defaultConfigFile(env: NodeJS.ProcessEnv): string {
  return env.AWS_CONFIG_FILE || join(env.HOME || homedir(), '.aws', 'config');
}

/**
 * The region to use, in the order the AWS SDKs use: `AWS_REGION`, `AWS_DEFAULT_REGION`, then the `region` of the
 * profile in the shared config file (`[default]` or `[profile <name>]`). Undefined when none is set; a missing or
 * unreadable config file counts as none.
 */
export async function resolveRegion(options: { profile: string; configFile?: string | undefined; env: NodeJS.ProcessEnv }): Promise<string | undefined> {
  const { env } = options;
  if (env.AWS_REGION) return env.AWS_REGION;
  if (env.AWS_DEFAULT_REGION) return env.AWS_DEFAULT_REGION;
  let text: string;
  try {
    text = await readFile(options.configFile ?? defaultConfigFile(env), 'utf8');
  } catch {
    return undefined;
  }
  const ini = parseIni(text);
  const section = options.profile === 'default' ? (ini.get('default') ?? ini.get('profile default')) : ini.get(`profile ${options.profile}`);
  return section?.get('region') || undefined;
}
