import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import { RunnerError, parseGoBool, toRunnerError } from '@fleetrunner/common';
import { formatDiagnostics, loadConfig, runnerBlocks, tomlString } from '@fleetrunner/config';
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

Every flag has GitLab Runner's environment variable (CI_SERVER_URL, CI_SERVER_TOKEN or RUNNER_TOKEN,
REGISTRATION_TOKEN, RUNNER_NAME, RUNNER_EXECUTOR, RUNNER_SHELL, RUNNER_LIMIT, RUNNER_TAG_LIST, REGISTER_PAUSED, …);
a flag wins over its variable.

  --template-config FILE        (TEMPLATE_CONFIG_FILE) a config.toml with one [[runners]] entry whose keys and
                                tables ([runners.autoscaler] …) are added; flags win over its keys
  --name NAME                   (RUNNER_NAME) description (default: this host's name)
  --executor instance           (RUNNER_EXECUTOR) the only executor (default)
  --plugin REF                  [runners.autoscaler] plugin; without it and without a template no
                                [runners.autoscaler] is written (as GitLab Runner), and "runner run" says it is missing
  --capacity-per-instance N     [runners.autoscaler] capacity_per_instance (with --plugin; default 1)
  --max-instances N             [runners.autoscaler] max_instances
  --max-use-count N             [runners.autoscaler] max_use_count
  --limit N                     (RUNNER_LIMIT) jobs of this runner at once (0 = unlimited)
  --shell bash|sh               (RUNNER_SHELL) default bash
  --request-concurrency N  --output-limit KB  --builds-dir DIR  --cache-dir DIR  --clone-url URL
  --env KEY=VALUE (repeatable, RUNNER_ENV)  --pre-get-sources-script  --post-get-sources-script
  --pre-build-script  --post-build-script  --debug-trace-disabled  --unhealthy-requests-limit N
  --unhealthy-interval DURATION  --job-status-final-update-retry-limit N
                                the runner keys of the same names (RUNNER_REQUEST_CONCURRENCY, …)
  legacy registration only: --tag-list a,b  --run-untagged  --locked  --access-level not_protected|ref_protected
                                --maximum-timeout S  --paused  --maintenance-note TEXT
  -n, --non-interactive         accepted for compatibility (there are no prompts)`;

const LEGACY_ONLY = ['tag-list', 'run-untagged', 'locked', 'access-level', 'maximum-timeout', 'paused', 'maintenance-note'] as const;

function int(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new RunnerError('invalid_argument', `--${name}: expected a whole number ≥ 0, got ${v}`);
  return Number(v);
}

export const OPTIONS = {
  config: { type: 'string', short: 'c' },
  url: { type: 'string', short: 'u' },
  token: { type: 'string', short: 't' },
  'registration-token': { type: 'string', short: 'r' },
  name: { type: 'string' },
  description: { type: 'string' },
  executor: { type: 'string' },
  plugin: { type: 'string' },
  'template-config': { type: 'string' },
  'request-concurrency': { type: 'string' },
  'output-limit': { type: 'string' },
  'builds-dir': { type: 'string' },
  'cache-dir': { type: 'string' },
  'clone-url': { type: 'string' },
  env: { type: 'string', multiple: true },
  'pre-get-sources-script': { type: 'string' },
  'post-get-sources-script': { type: 'string' },
  'pre-build-script': { type: 'string' },
  'post-build-script': { type: 'string' },
  'debug-trace-disabled': { type: 'boolean' },
  'unhealthy-requests-limit': { type: 'string' },
  'unhealthy-interval': { type: 'string' },
  'job-status-final-update-retry-limit': { type: 'string' },
  'capacity-per-instance': { type: 'string' },
  'max-instances': { type: 'string' },
  'max-use-count': { type: 'string' },
  limit: { type: 'string' },
  shell: { type: 'string' },
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

export type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];

/** GitLab Runner's environment variable of each flag (`register`'s `env:` tags). */
const ENV: Partial<Record<keyof typeof OPTIONS, readonly string[]>> = {
  url: ['CI_SERVER_URL'],
  token: ['CI_SERVER_TOKEN', 'RUNNER_TOKEN'],
  'registration-token': ['REGISTRATION_TOKEN'],
  name: ['RUNNER_NAME'],
  executor: ['RUNNER_EXECUTOR'],
  shell: ['RUNNER_SHELL'],
  limit: ['RUNNER_LIMIT'],
  'template-config': ['TEMPLATE_CONFIG_FILE'],
  'tag-list': ['RUNNER_TAG_LIST'],
  'run-untagged': ['REGISTER_RUN_UNTAGGED'],
  locked: ['REGISTER_LOCKED'],
  'access-level': ['REGISTER_ACCESS_LEVEL'],
  'maximum-timeout': ['REGISTER_MAXIMUM_TIMEOUT'],
  paused: ['REGISTER_PAUSED'],
  'maintenance-note': ['REGISTER_MAINTENANCE_NOTE'],
  'non-interactive': ['REGISTER_NON_INTERACTIVE'],
  'request-concurrency': ['RUNNER_REQUEST_CONCURRENCY'],
  'output-limit': ['RUNNER_OUTPUT_LIMIT'],
  'builds-dir': ['RUNNER_BUILDS_DIR'],
  'cache-dir': ['RUNNER_CACHE_DIR'],
  'clone-url': ['CLONE_URL'],
  env: ['RUNNER_ENV'],
  'pre-get-sources-script': ['RUNNER_PRE_GET_SOURCES_SCRIPT'],
  'post-get-sources-script': ['RUNNER_POST_GET_SOURCES_SCRIPT'],
  'pre-build-script': ['RUNNER_PRE_BUILD_SCRIPT'],
  'post-build-script': ['RUNNER_POST_BUILD_SCRIPT'],
  'debug-trace-disabled': ['RUNNER_DEBUG_TRACE_DISABLED'],
  'unhealthy-requests-limit': ['RUNNER_UNHEALTHY_REQUESTS_LIMIT'],
  'unhealthy-interval': ['RUNNER_UNHEALTHY_INTERVAL'],
  'job-status-final-update-retry-limit': ['RUNNER_JOB_STATUS_FINAL_UPDATE_RETRY_LIMIT'],
};

/** Fills the flags not given from their environment variables (a flag wins). */
export function withEnv(values: Values, env: NodeJS.ProcessEnv): Values {
  const out: Record<string, unknown> = { ...values };
  for (const [flag, names] of Object.entries(ENV) as [keyof typeof OPTIONS, readonly string[]][]) {
    if (out[flag] !== undefined) continue;
    const name = names.find((n) => env[n] !== undefined && env[n] !== '');
    if (name === undefined) continue;
    const v = env[name]!;
    const type = OPTIONS[flag].type;
    if (type === 'boolean') {
      const b = parseGoBool(v);
      if (b === undefined) throw new RunnerError('invalid_argument', `${name}: expected a boolean (true, false, 1, 0), got ${JSON.stringify(v)}`);
      out[flag] = b;
    } else out[flag] = flag === 'env' ? v.split(/\r?\n|,(?=[A-Za-z_][A-Za-z0-9_]*=)/).filter(Boolean) : v;
  }
  return out as Values;
}

/**
 * The `[[runners]]` entry of a template config (`--template-config`): its own key lines and its sub-tables, as
 * text. Exactly one entry is required, as GitLab Runner requires.
 */
export async function templateRunner(file: string): Promise<{ keys: Map<string, string>; tables: string }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new RunnerError('not_found', `--template-config ${file}: ${toRunnerError(err).message}`);
  }
  const check = await loadConfig(file, { env: {} });
  const syntax = check.errors.filter((e) => e.path === '');
  if (syntax.length > 0) throw new RunnerError('invalid_argument', `--template-config ${file}:\n${formatDiagnostics({ ...check, errors: syntax, warnings: [] })}`);
  const blocks = runnerBlocks(text);
  if (blocks.length !== 1) throw new RunnerError('invalid_argument', `--template-config ${file}: the template must hold exactly one [[runners]] entry, found ${blocks.length}`);
  const body = blocks[0]!.ranges.map((r) => text.slice(r.start, r.end)).join('');
  const lines = body.split('\n');
  const header = lines.findIndex((l) => /^[ \t]*\[\[[ \t]*runners[ \t]*\]\]/.test(l));
  const sub = lines.findIndex((l, i) => i > header && /^[ \t]*\[/.test(l));
  const own = lines.slice(header + 1, sub < 0 ? lines.length : sub);
  const keys = new Map<string, string>();
  let last: string | undefined;
  for (const l of own) {
    const m = /^[ \t]*([A-Za-z0-9_-]+)[ \t]*=/.exec(l);
    if (m) {
      last = m[1]!;
      keys.set(last, l.trim());
    } else if (last !== undefined && l.trim() !== '' && !l.trim().startsWith('#')) keys.set(last, `${keys.get(last)}\n${l}`);
  }
  return { keys, tables: sub < 0 ? '' : lines.slice(sub).join('\n').replace(/\s*$/, '\n') };
}

/** A runner key from a string flag: the TOML value (quoted string, or a whole number checked). */
function keyValue(flag: string, key: string, v: string | boolean | string[] | undefined): [string, string] | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'boolean') return [key, String(v)];
  if (Array.isArray(v)) return [key, `[${v.map(tomlString).join(', ')}]`];
  if (['limit', 'request_concurrency', 'output_limit', 'unhealthy_requests_limit', 'job_status_final_update_retry_limit'].includes(key)) {
    if (!/^\d+$/.test(v)) throw new RunnerError('invalid_argument', `--${flag}: expected a whole number ≥ 0, got ${JSON.stringify(v)}`);
    return [key, v];
  }
  return [key, tomlString(v)];
}

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

/**
 * The `[[runners]]` entry `register` (and `run-single`) writes: the flag keys, then the template's other keys and
 * its tables, then `[runners.autoscaler]` from `--plugin`.
 */
export function runnerEntryText(values: Values, creds: RunnerCredentials, template: { keys: Map<string, string>; tables: string } | undefined, shellFlag: boolean): string {
  const flagKeys: [string, string][] = [
    ['name', tomlString(values.name ?? values.description ?? (template?.keys.has('name') ? '' : hostname()))],
    ['url', tomlString(values.url ?? '')],
    ...(creds.id !== undefined ? [['id', String(creds.id)] as [string, string]] : []),
    ['token', tomlString(creds.token)],
    ['token_obtained_at', new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')],
    ...(creds.tokenExpiresAt ? [['token_expires_at', creds.tokenExpiresAt.toISOString().replace(/\.\d{3}Z$/, 'Z')] as [string, string]] : []),
    ['executor', tomlString('instance')],
    ...(shellFlag || process.env.RUNNER_SHELL || !template?.keys.has('shell') ? [['shell', tomlString(values.shell ?? 'bash')] as [string, string]] : []),
  ];
  const optional: [keyof Values, string][] = [
    ['limit', 'limit'],
    ['request-concurrency', 'request_concurrency'],
    ['output-limit', 'output_limit'],
    ['builds-dir', 'builds_dir'],
    ['cache-dir', 'cache_dir'],
    ['clone-url', 'clone_url'],
    ['env', 'environment'],
    ['pre-get-sources-script', 'pre_get_sources_script'],
    ['post-get-sources-script', 'post_get_sources_script'],
    ['pre-build-script', 'pre_build_script'],
    ['post-build-script', 'post_build_script'],
    ['debug-trace-disabled', 'debug_trace_disabled'],
    ['unhealthy-requests-limit', 'unhealthy_requests_limit'],
    ['unhealthy-interval', 'unhealthy_interval'],
    ['job-status-final-update-retry-limit', 'job_status_final_update_retry_limit'],
  ];
  for (const [flag, key] of optional) {
    const kv = keyValue(String(flag), key, values[flag] as string | boolean | string[] | undefined);
    if (kv) flagKeys.push(kv);
  }
  // The template's name only when no name was given (flags win, as GitLab Runner's merge keeps set fields).
  const nameGiven = values.name !== undefined || values.description !== undefined;
  const keys = flagKeys.filter(([k]) => !(k === 'name' && !nameGiven && template?.keys.has('name')));
  const lines = ['[[runners]]', ...keys.map(([k, v]) => `  ${k} = ${v}`)];
  for (const [k, line] of template?.keys ?? []) if (!keys.some(([x]) => x === k) && k !== 'token' && k !== 'id') lines.push(`  ${line}`);
  let block = lines.join('\n') + '\n';
  if (template?.tables) block += template.tables;
  if (values.plugin !== undefined) {
    const autoscaler: Record<string, TomlValue | undefined> = {
      plugin: values.plugin,
      capacity_per_instance: int('capacity-per-instance', values['capacity-per-instance']) ?? 1,
      max_instances: int('max-instances', values['max-instances']),
      max_use_count: int('max-use-count', values['max-use-count']),
    };
    block += runnerBlock({}, { autoscaler }).replace(/^\[\[runners\]\]\n/, '');
  }
  return block;
}

/** `runner register`. */
export async function registerCommand(args: string[], io: Output): Promise<number> {
  const parsed = parseArgs({ args, options: OPTIONS });
  if (parsed.values.help) {
    io.out(usage);
    return 0;
  }
  const values = withEnv(parsed.values, process.env);
  values.executor ??= 'instance';
  values.shell ??= 'bash';
  if (!values.url) throw new RunnerError('invalid_argument', '--url (or CI_SERVER_URL) is required');
  if (values.executor !== 'instance') throw new RunnerError('invalid_argument', `--executor: only "instance" is supported, got ${values.executor}`);
  if (values.shell !== 'bash' && values.shell !== 'sh') throw new RunnerError('invalid_argument', `--shell: expected bash or sh, got ${values.shell}`);
  let token = values.token;
  let registrationToken = values['registration-token'];
  if (!token && registrationToken?.startsWith('glrt-')) {
    io.err('warning: --registration-token got a runner authentication token (glrt-…); using it as --token');
    token = registrationToken;
    registrationToken = undefined;
  }
  if (!token && !registrationToken) throw new RunnerError('invalid_argument', 'either --token (CI_SERVER_TOKEN, RUNNER_TOKEN) or --registration-token (REGISTRATION_TOKEN) is required');
  if (token && registrationToken) throw new RunnerError('invalid_argument', '--token and --registration-token exclude each other');
  const legacyFlags = LEGACY_ONLY.filter((f) => values[f] !== undefined);
  if (token && legacyFlags.length > 0) {
    throw new RunnerError('invalid_argument', `${legacyFlags.map((f) => `--${f}`).join(', ')}: set these on the runner in GitLab; they cannot be given with a runner authentication token`);
  }
  const template = values['template-config'] ? await templateRunner(values['template-config']) : undefined;
  if (values.plugin === undefined && (values['capacity-per-instance'] ?? values['max-instances'] ?? values['max-use-count']) !== undefined) {
    throw new RunnerError('invalid_argument', '--capacity-per-instance, --max-instances and --max-use-count need --plugin (or a [runners.autoscaler] in --template-config)');
  }
  if (values.plugin !== undefined && template?.tables.match(/^[ \t]*\[[ \t]*runners\.autoscaler[ \t]*\]/m)) {
    throw new RunnerError('invalid_argument', '--plugin: the template already has a [runners.autoscaler] section; set the plugin there');
  }
  const file = values.config ?? defaultConfigPath();
  const creds = await credentials(values, { token, registrationToken, systemId: await loadSystemId(file) });
  const block = runnerEntryText(values, creds, template, parsed.values.shell !== undefined);
  const before = await readConfigText(file);
  const text = before === '' ? `${NEW_CONFIG_HEADER}\n${block}` : `${before.replace(/\n*$/, '\n')}\n${block}`;
  await writeConfigText(file, text);
  const check = await loadConfig(file, { env: process.env });
  if (check.errors.length > 0) io.err(formatDiagnostics(check));
  io.out(`Runner registered successfully: ${shortToken(creds.token)}${creds.id !== undefined ? ` (id ${creds.id})` : ''}, written to ${file}.`);
  if (!/^[ \t]*\[[ \t]*runners\.autoscaler[ \t]*\]/m.test(block)) {
    io.err('No [runners.autoscaler] was written (no --plugin, no template with one): add one before "runner run" (see --template-config).');
  } else io.out('Start it with "runner run", or reload a running manager (it re-reads the file on change).');
  return check.errors.length > 0 && /^[ \t]*\[[ \t]*runners\.autoscaler[ \t]*\]/m.test(block) ? 1 : 0;
}
