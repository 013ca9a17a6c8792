// run-single through the `runner` binary: one runner from flags and environment, no config file, a job run to the end.
import t from 'tap';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpDir, waitFor } from '@fleetrunner/testing';
import { startGitLabStandin } from '../src/index.js';
import { RUNNER_BIN, noInstancesLeft } from './run-harness.js';

const NO_GIT = [{ key: 'GIT_STRATEGY', value: 'none', public: true }];

function runner(args: string[], env: NodeJS.ProcessEnv): { stderr: () => string; exited: Promise<number | null>; kill(sig: NodeJS.Signals): void } {
  const child = spawn(process.execPath, [RUNNER_BIN, ...args], { env: { ...process.env, CONFIG_FILE: '', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  return { stderr: () => err, exited, kill: (sig) => child.kill(sig) };
}

t.test('run-single runs one runner from the environment and a template, with no config file', async (t) => {
  const dir = tmpDir(t, { prefix: 'cli-run-single' });
  const s = await startGitLabStandin({ traceUpdateIntervalSeconds: 1, longPollMs: 2_000 });
  t.teardown(() => s.close());
  const { token } = s.registerRunner();
  const template = join(dir, 'template.toml');
  writeFileSync(
    template,
    `[[runners]]\n  [runners.autoscaler]\n    plugin = "local"\n    capacity_per_instance = 1\n    max_instances = 1\n    update_interval_when_expecting = "250ms"\n    shutdown_deletion_interval = "250ms"\n    [runners.autoscaler.plugin_config]\n      subnet = "127.95.5.0/24"\n      state_dir = "${join(dir, 'plugin')}"\n    [[runners.autoscaler.policy]]\n      idle_count = 0\n`,
  );
  const m = runner(['--log-format', 'json', 'run-single', '--template-config', template], { CI_SERVER_URL: s.url, RUNNER_TOKEN: token, RUNNER_NAME: 'single' });
  t.teardown(() => m.kill('SIGKILL'));
  const job = s.enqueueJob({ variables: NO_GIT, script: ['echo single runner'] });
  await waitFor(() => s.jobs.get(job.id)?.status === 'success', { what: `job ${job.id} to succeed; log: ${m.stderr().slice(-2000)}`, timeoutMs: 90_000 });
  t.match(s.traceOf(job.id), / single runner$/m);
  t.equal(s.jobs.get(job.id)?.runnerToken, token);
  m.kill('SIGQUIT');
  t.equal(await m.exited, 0, m.stderr().slice(-2000));
  t.notMatch(m.stderr(), token, 'the token is never logged whole');
  await noInstancesLeft(dir);

  const none = runner(['run-single', '--url', s.url, '--token', token], {});
  t.equal(await none.exited, 1);
  t.match(none.stderr(), /run-single needs a fleeting plugin: --plugin REF, or --template-config FILE/);
});
