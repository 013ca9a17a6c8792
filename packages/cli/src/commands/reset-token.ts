import { parseArgs } from 'node:util';
import { RunnerError, toRunnerError } from '@fleetrunner/common';
import { formatDiagnostics, loadConfig } from '@fleetrunner/config';
import { runnerInfo, shortToken } from '@fleetrunner/gitlab';
import { loadSystemId, resetRunnerToken } from '@fleetrunner/manager';
import { defaultConfigPath } from '../config-path.js';
import type { Output } from '../output.js';
import { cliVersion } from '../version.js';

export const usage = `Usage: runner reset-token [--config FILE] (--name NAME | --url URL --id ID | --all-runners)

Resets runner tokens with GitLab (POST runners/reset_authentication_token, authenticated by the current token)
and saves each new token with token_obtained_at and token_expires_at in the config file (written atomically).
A running manager picks the new token up when it re-reads the file. Exit 1 when any reset failed.
(--pat, a personal access token instead of the runner's own token, is not supported.)`;

/** `runner reset-token`. */
export async function resetTokenCommand(args: string[], io: Output): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string', short: 'c' },
      name: { type: 'string', short: 'n' },
      url: { type: 'string', short: 'u' },
      id: { type: 'string', short: 'i' },
      'all-runners': { type: 'boolean' },
      pat: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.out(usage);
    return 0;
  }
  if (values.pat !== undefined) throw new RunnerError('invalid_argument', '--pat: resetting with a personal access token is not supported; the runner token itself is used');
  const byId = values.url !== undefined || values.id !== undefined;
  if (byId && !(values.url && values.id)) throw new RunnerError('invalid_argument', '--url and --id go together');
  if (values.id !== undefined && !/^\d+$/.test(values.id)) throw new RunnerError('invalid_argument', `--id: expected the runner's numeric id, got ${JSON.stringify(values.id)}`);
  const ways = [values.name !== undefined, byId, values['all-runners'] === true].filter(Boolean).length;
  if (ways !== 1) throw new RunnerError('invalid_argument', 'give one of --name, --url with --id, or --all-runners');
  const file = values.config ?? defaultConfigPath();
  const result = await loadConfig(file, { env: process.env });
  if (!result.config) {
    io.err(formatDiagnostics(result));
    return 1;
  }
  const targets = result.config.runners.filter((r) =>
    values['all-runners'] ? true : values.name !== undefined ? r.name === values.name : r.url === values.url!.replace(/\/+$/, '') && r.id === Number(values.id),
  );
  if (targets.length === 0) throw new RunnerError('not_found', `no runner in ${file} ${values.name !== undefined ? `is named ${JSON.stringify(values.name)}` : values['all-runners'] ? 'at all' : `has URL ${values.url} and id ${values.id}`}`);
  const systemId = await loadSystemId(file);
  let failed = 0;
  for (const r of targets) {
    const who = `${r.name || '-'} ${shortToken(r.token)} (${r.url})`;
    try {
      const creds = await resetRunnerToken({ configFile: file, runner: r, systemId, info: runnerInfo({ version: cliVersion(), shell: r.shell }), now: Date.now() });
      io.out(`Reset the token of runner ${who}: new token ${shortToken(creds.token)}${creds.tokenExpiresAt ? `, expires ${creds.tokenExpiresAt.toISOString()}` : ''}`);
    } catch (err) {
      io.err(`Resetting the token of runner ${who} failed: ${toRunnerError(err).message}`);
      failed++;
    }
  }
  io.out(`Updated ${file}`);
  return failed > 0 ? 1 : 0;
}
