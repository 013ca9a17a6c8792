import { parseArgs } from 'node:util';
import { RunnerError, toRunnerError } from '@fleetrunner/common';
import { formatDiagnostics, loadConfig, readConfigText, removeRunnerBlocks, runnerBlocks, writeConfigText } from '@fleetrunner/config';
import { GitLabClient, runnerInfo, shortToken } from '@fleetrunner/gitlab';
import { loadSystemId } from '@fleetrunner/manager';
import { defaultConfigPath } from '../config-path.js';
import type { Output } from '../output.js';
import { cliVersion } from '../version.js';

export const usage = `Usage: runner unregister [--config FILE] (--name NAME | --url URL --token TOKEN | --all-runners)

Removes runners from GitLab and from the config file. A runner authentication token (glrt-…) removes this
manager's entry of the runner (DELETE runners/managers, by system id); the runner itself stays in GitLab.
A legacy token deletes the runner (DELETE runners). --url with --token not in the config unregisters that token.
Exit 1 when GitLab refused or could not be reached for any runner (those stay in the file).`;

/** `runner unregister`. */
export async function unregisterCommand(args: string[], io: Output): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string', short: 'c' },
      name: { type: 'string', short: 'n' },
      url: { type: 'string', short: 'u' },
      token: { type: 'string', short: 't' },
      'all-runners': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.out(usage);
    return 0;
  }
  const byCreds = values.url !== undefined || values.token !== undefined;
  if (byCreds && !(values.url && values.token)) throw new RunnerError('invalid_argument', '--url and --token go together');
  const ways = [values.name !== undefined, byCreds, values['all-runners'] === true].filter(Boolean).length;
  if (ways !== 1) throw new RunnerError('invalid_argument', 'give one of --name, --url with --token, or --all-runners');
  const file = values.config ?? defaultConfigPath();
  const result = await loadConfig(file, { env: process.env });
  if (!result.config && !byCreds) {
    io.err(formatDiagnostics(result));
    return 1;
  }
  const all = result.config?.runners ?? [];
  const picked = all
    .map((r, index) => ({ r, index }))
    .filter(({ r }) => values['all-runners'] || (values.name !== undefined ? r.name === values.name : r.url === values.url && r.token === values.token));
  const targets = picked.length === 0 && byCreds ? [{ r: { name: '', url: values.url!, token: values.token! }, index: -1 }] : picked;
  if (targets.length === 0) {
    if (values['all-runners']) {
      io.out(`No runners in ${file}`);
      return 0;
    }
    throw new RunnerError('not_found', `no runner in ${file} ${values.name !== undefined ? `is named ${JSON.stringify(values.name)}` : 'has that URL and token'}`);
  }
  const systemId = await loadSystemId(file);
  const info = runnerInfo({ version: cliVersion() });
  const removed = new Set<number>();
  let failed = 0;
  for (const { r, index } of targets) {
    const who = `${r.name || '-'} ${shortToken(r.token)} (${r.url})`;
    try {
      const client = new GitLabClient({ url: r.url, token: r.token, systemId, info });
      if (r.token.startsWith('glrt-')) await client.unregisterManager();
      else await client.unregisterRunner();
      io.out(`Unregistering runner from GitLab succeeded: ${who}`);
      if (index >= 0) removed.add(index);
    } catch (err) {
      io.err(`Unregistering runner from GitLab failed: ${who}: ${toRunnerError(err).message}`);
      failed++;
    }
  }
  if (removed.size > 0) {
    const text = await readConfigText(file);
    if (runnerBlocks(text).length !== all.length) throw new RunnerError('internal', `${file}: could not find every [[runners]] entry in the text; not rewriting it`);
    await writeConfigText(file, removeRunnerBlocks(text, removed));
    io.out(`Updated ${file}`);
  }
  return failed > 0 ? 1 : 0;
}
