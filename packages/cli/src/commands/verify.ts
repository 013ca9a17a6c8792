import { parseArgs } from 'node:util';
import { RunnerError, hasCode, toRunnerError } from '@fleetrunner/common';
import { formatDiagnostics, loadConfig, type RunnerEntry } from '@fleetrunner/config';
import { GitLabClient, runnerInfo } from '@fleetrunner/gitlab';
import { defaultConfigPath } from '../config-path.js';
import type { Output } from '../output.js';
import { readConfigText, removeRunnerBlocks, runnerBlocks, writeConfigText } from '@fleetrunner/config';
import { shortToken } from '@fleetrunner/gitlab';
import { loadSystemId } from '@fleetrunner/manager';
import { cliVersion } from '../version.js';

export const usage = `Usage: runner verify [--config FILE] [--name NAME | --url URL --token TOKEN] [--delete]

Checks each runner's token with GitLab (POST runners/verify). --name or --url/--token pick runners of the config
(--url with --token not in the config checks that token alone). --delete removes the runners GitLab refused
(HTTP 403) from the config file. Exit 1 when a runner is invalid and was not deleted, or GitLab could not be asked.`;

/** `runner verify`. */
export async function verifyCommand(args: string[], io: Output): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string', short: 'c' },
      name: { type: 'string' },
      url: { type: 'string', short: 'u' },
      token: { type: 'string', short: 't' },
      delete: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.out(usage);
    return 0;
  }
  const file = values.config ?? defaultConfigPath();
  const result = await loadConfig(file, { env: process.env });
  const all = result.config?.runners ?? [];
  if (!result.config && !(values.url && values.token)) {
    io.err(formatDiagnostics(result));
    return 1;
  }
  const picked = all
    .map((r, index) => ({ r, index }))
    .filter(({ r }) => (!values.name || r.name === values.name) && (!values.url || r.url === values.url) && (!values.token || r.token === values.token));
  const targets: { r: Pick<RunnerEntry, 'name' | 'url' | 'token'>; index: number }[] =
    picked.length === 0 && values.url && values.token ? [{ r: { name: '', url: values.url, token: values.token }, index: -1 }] : picked;
  if (targets.length === 0) throw new RunnerError('not_found', `no runner in ${file} matches the selection`);
  const systemId = await loadSystemId(file);
  const info = runnerInfo({ version: cliVersion() });
  const invalid = new Set<number>();
  let problems = 0;
  for (const { r, index } of targets) {
    const who = `${r.name || '-'} ${shortToken(r.token)} (${r.url})`;
    try {
      await new GitLabClient({ url: r.url, token: r.token, systemId, info }).verifyRunner();
      io.out(`Verifying runner... is valid: ${who}`);
    } catch (err) {
      if (hasCode(err, 'auth_failed')) {
        io.out(`Verifying runner... is removed: ${who}`);
        if (index >= 0) invalid.add(index);
        else problems++;
      } else {
        io.err(`Verifying runner... failed: ${who}: ${toRunnerError(err).message}`);
        problems++;
      }
    }
  }
  if (invalid.size > 0 && values.delete) {
    const text = await readConfigText(file);
    if (runnerBlocks(text).length !== all.length) throw new RunnerError('internal', `${file}: could not find every [[runners]] entry in the text; not rewriting it`);
    await writeConfigText(file, removeRunnerBlocks(text, invalid));
    io.out(`Deleted ${invalid.size} invalid runner(s) from ${file}`);
    return problems > 0 ? 1 : 0;
  }
  return problems + invalid.size > 0 ? 1 : 0;
}
