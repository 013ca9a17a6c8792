import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { RunnerError } from '@fleetrunner/common';
import { formatDiagnostics, loadConfig } from '@fleetrunner/config';
import { GitLabClient, runnerInfo, type RunnerCredentials } from '@fleetrunner/gitlab';
import { defaultConfigPath } from '../config-path.js';
import type { Output } from '../output.js';
import { NEW_CONFIG_HEADER, readConfigText, runnerBlock, writeConfigText, type TomlValue } from '@fleetrunner/config';
import { shortToken } from '@fleetrunner/gitlab';
import { loadSystemId } from '@fleetrunner/manager';
import { cliVersion } from '../version.js';

export const usage = `Usage: runner register [--config FILE] --url URL (--token TOKEN | --registration-token TOKEN) [options]

Adds a [[runners]] entry with the instance executor to the config file (created when missing).
A runner authentication token (glrt-…, from the GitLab UI) is checked with POST runners/verify; its id and expiry
are stored. A legacy registration token registers a new runner (POST runners) with the legacy options below.

  --name NAME                   description (default: this host's name)
  --executor instance           the only executor (default)
  --plugin REF                  [runners.autoscaler] plugin (default "local")
  --capacity-per-instance N     [runners.autoscaler] capacity_per_instance (default 1)
  --max-instances N             [runners.autoscaler] max_instances
  --max-use-count N             [runners.autoscaler] max_use_count
  --limit N                     jobs of this runner at once (0 = unlimited)
  --shell bash|sh               default bash
  legacy registration only: --tag-list a,b  --run-untagged  --locked  --access-level not_protected|ref_protected
                                --maximum-timeout S  --paused  --maintenance-note TEXT
  -n, --non-interactive         accepted for compatibility (there are no prompts)`;

const LEGACY_ONLY = ['tag-list', 'run-untagged', 'locked', 'access-level', 'maximum-timeout', 'paused', 'maintenance-note'] as const;

function int(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new RunnerError('invalid_argument', `--${name}: expected a whole number ≥ 0, got ${v}`);
  return Number(v);
}

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  url: { type: 'string', short: 'u' },
  token: { type: 'string', short: 't' },
  'registration-token': { type: 'string', short: 'r' },
  name: { type: 'string' },
  description: { type: 'string' },
  executor: { type: 'string', default: 'instance' },
  plugin: { type: 'string', default: 'local' },
  'capacity-per-instance': { type: 'string' },
  'max-instances': { type: 'string' },
  'max-use-count': { type: 'string' },
  limit: { type: 'string' },
  shell: { type: 'string', default: 'bash' },
  'tag-list': { type: 'string' },
  'run-untagged': { type: 'boolean' },
  locked: { type: 'boolean' },
  'access-level': { type: 'string' },
  'maximum-timeout': { type: 'string' },
  paused: { type: 'boolean' },
  'maintenance-note': { type: 'string' },
  'non-interactive': { type: 'boolean', short: 'n' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];

/** Verifies a runner authentication token, or registers a runner with a legacy registration token. */
async function credentials(values: Values, o: { token: string | undefined; registrationToken: string | undefined; systemId: string }): Promise<RunnerCredentials> {
  const info = runnerInfo({ version: cliVersion(), shell: values.shell });
  const url = values.url!;
  if (o.token) {
    const creds = await new GitLabClient({ url, token: o.token, systemId: o.systemId, info }).verifyRunner();
    return { ...creds, token: creds.token || o.token };
  }
  const access = values['access-level'];
  if (access !== undefined && access !== 'not_protected' && access !== 'ref_protected') throw new RunnerError('invalid_argument', `--access-level: expected not_protected or ref_protected, got ${access}`);
  const timeout = int('maximum-timeout', values['maximum-timeout']);
  return new GitLabClient({ url, token: 'registration', systemId: o.systemId, info }).registerRunner(o.registrationToken!, {
    description: values.name ?? values.description ?? hostname(),
    ...(values['tag-list'] ? { tags: values['tag-list'].split(',').map((s) => s.trim()).filter(Boolean) } : {}),
    ...(values['run-untagged'] !== undefined ? { runUntagged: values['run-untagged'] } : {}),
    ...(values.locked !== undefined ? { locked: values.locked } : {}),
    ...(access ? { accessLevel: access } : {}),
    ...(timeout !== undefined ? { maximumTimeoutSeconds: timeout } : {}),
    ...(values.paused !== undefined ? { paused: values.paused } : {}),
    ...(values['maintenance-note'] !== undefined ? { maintenanceNote: values['maintenance-note'] } : {}),
  });
}

/** `runner register`. */
export async function registerCommand(args: string[], io: Output): Promise<number> {
  const { values } = parseArgs({ args, options: OPTIONS });
  if (values.help) {
    io.out(usage);
    return 0;
  }
  if (!values.url) throw new RunnerError('invalid_argument', '--url is required');
  if (values.executor !== 'instance') throw new RunnerError('invalid_argument', `--executor: only "instance" is supported, got ${values.executor}`);
  if (values.shell !== 'bash' && values.shell !== 'sh') throw new RunnerError('invalid_argument', `--shell: expected bash or sh, got ${values.shell}`);
  let token = values.token;
  let registrationToken = values['registration-token'];
  if (!token && registrationToken?.startsWith('glrt-')) {
    io.err('warning: --registration-token got a runner authentication token (glrt-…); using it as --token');
    token = registrationToken;
    registrationToken = undefined;
  }
  if (!token && !registrationToken) throw new RunnerError('invalid_argument', 'either --token or --registration-token is required');
  if (token && registrationToken) throw new RunnerError('invalid_argument', '--token and --registration-token exclude each other');
  const legacyFlags = LEGACY_ONLY.filter((f) => values[f] !== undefined);
  if (token && legacyFlags.length > 0) {
    throw new RunnerError('invalid_argument', `${legacyFlags.map((f) => `--${f}`).join(', ')}: set these on the runner in GitLab; they cannot be given with a runner authentication token`);
  }
  const file = values.config ?? defaultConfigPath();
  const creds = await credentials(values, { token, registrationToken, systemId: await loadSystemId(file) });
  const autoscaler: Record<string, TomlValue | undefined> = {
    plugin: values.plugin,
    capacity_per_instance: int('capacity-per-instance', values['capacity-per-instance']) ?? 1,
    max_instances: int('max-instances', values['max-instances']),
    max_use_count: int('max-use-count', values['max-use-count']),
  };
  const block = runnerBlock(
    {
      name: values.name ?? values.description ?? hostname(),
      url: values.url,
      id: creds.id,
      token: creds.token,
      token_obtained_at: new Date(),
      token_expires_at: creds.tokenExpiresAt,
      executor: 'instance',
      shell: values.shell,
      limit: int('limit', values.limit),
    },
    { autoscaler },
  );
  const before = await readConfigText(file);
  const text = before === '' ? `${NEW_CONFIG_HEADER}\n${block}` : `${before.replace(/\n*$/, '\n')}\n${block}`;
  await writeConfigText(file, text);
  const check = await loadConfig(file, { env: process.env });
  if (check.errors.length > 0) io.err(formatDiagnostics(check));
  io.out(`Runner registered successfully: ${shortToken(creds.token)}${creds.id !== undefined ? ` (id ${creds.id})` : ''}, written to ${file}.`);
  io.out('Start it with "runner run", or reload a running manager (it re-reads the file on change).');
  return check.errors.length > 0 ? 1 : 0;
}
