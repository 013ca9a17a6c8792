import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { RunnerError } from '@fleetrunner/common';
import { NEW_CONFIG_HEADER, writeConfigText } from '@fleetrunner/config';
import type { GlobalFlags } from '../global-flags.js';
import type { Output } from '../output.js';
import { OPTIONS, runnerEntryText, templateRunner, withEnv } from './register.js';
import { runCommand } from './run.js';

export const usage = `Usage: runner run-single --url URL --token TOKEN (--template-config FILE | --plugin REF) [runner flags]
                         [--listen-address HOST:PORT]

Runs one runner given by flags and environment variables (CI_SERVER_URL, CI_SERVER_TOKEN or RUNNER_TOKEN, and the
other variables of "runner register"), with no config file of its own: the entry "register" would write is kept
in a private temporary directory for the life of the process (relative paths of a template resolve there; give
absolute ones). The token is not verified first and nothing is registered. Signals as "runner run".
(--max-builds and --wait-timeout are not supported.)`;

/** `runner run-single`. */
export async function runSingleCommand(args: string[], io: Output, globals: GlobalFlags): Promise<number> {
  const parsed = parseArgs({ args, options: { ...OPTIONS, 'listen-address': { type: 'string' }, 'max-builds': { type: 'string' }, 'wait-timeout': { type: 'string' } } });
  if (parsed.values.help) {
    io.out(usage);
    return 0;
  }
  for (const f of ['max-builds', 'wait-timeout', 'registration-token', 'config'] as const) {
    if (parsed.values[f] !== undefined) throw new RunnerError('invalid_argument', `--${f}: not supported by run-single`);
  }
  const values = withEnv(parsed.values, process.env);
  values.executor ??= 'instance';
  values.shell ??= 'bash';
  if (!values.url) throw new RunnerError('invalid_argument', '--url (or CI_SERVER_URL) is required');
  if (!values.token) throw new RunnerError('invalid_argument', '--token (or CI_SERVER_TOKEN, RUNNER_TOKEN) is required');
  if (values.executor !== 'instance') throw new RunnerError('invalid_argument', `--executor: only "instance" is supported, got ${values.executor}`);
  if (values.shell !== 'bash' && values.shell !== 'sh') throw new RunnerError('invalid_argument', `--shell: expected bash or sh, got ${values.shell}`);
  const template = values['template-config'] ? await templateRunner(values['template-config']) : undefined;
  const hasAutoscaler = values.plugin !== undefined || /^[ \t]*\[[ \t]*runners\.autoscaler[ \t]*\]/m.test(template?.tables ?? '');
  if (!hasAutoscaler) throw new RunnerError('invalid_argument', 'run-single needs a fleeting plugin: --plugin REF, or --template-config FILE with a [runners.autoscaler] section');
  const block = runnerEntryText(values, { token: values.token }, template, parsed.values.shell !== undefined);
  const dir = await mkdtemp(join(tmpdir(), 'runner-single-'));
  try {
    const file = join(dir, 'config.toml');
    await writeConfigText(file, `${NEW_CONFIG_HEADER}\n${block}`);
    const listen = parsed.values['listen-address'];
    return await runCommand(['--config', file, ...(listen !== undefined ? ['--listen-address', listen] : [])], io, globals);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
