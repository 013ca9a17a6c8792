// Fleeting plugin faults under `runner run`: a plugin process that dies is restarted with back-off and the fleet
// reconciled; a bare plugin name never starts an unrelated program of that name.
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { tmpDir, waitFor } from '@fleetrunner/testing';
import { startGitLabStandin, type GitLabStandin } from '../src/index.js';
import { RUNNER_BIN, alive, noInstancesLeft, startManager, writeRunConfig, type LogEntry, type ManagerProcess } from './run-harness.js';

const NO_GIT = [{ key: 'GIT_STRATEGY', value: 'none', public: true }];
/** The embedded local plugin's executable (what `plugin = "local"` starts). */
const LOCAL_PLUGIN = join(dirname(RUNNER_BIN), '..', '..', '..', 'plugins', 'local', 'bin', 'plugin.js');
const run = promisify(execFile);

/** Rewrites lines of the config `writeRunConfig` wrote. */
function editConfig(file: string, edits: [string, string][]): void {
  let text = readFileSync(file, 'utf8');
  for (const [from, to] of edits) {
    if (!text.includes(from)) throw new Error(`config has no ${from}`);
    text = text.replace(from, to);
  }
  writeFileSync(file, text);
}

function script(path: string, body: string): string {
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

/** Asserts that job `id` succeeded; its log goes to the output when it did not. */
function succeeded(t: Test, s: GitLabStandin, id: number, what: string): void {
  const ok = s.jobs.get(id)?.status === 'success';
  t.ok(ok, what);
  if (!ok) t.comment(s.traceOf(id));
}

const died = (pid: number) => (e: LogEntry) => e.msg === 'plugin exited unexpectedly' && e.pid === pid;

/** Kills the plugin process `pid` and waits until the manager logged its death and started a new one. */
async function killPlugin(t: Test, m: ManagerProcess, pid: number): Promise<number> {
  const before = m.pluginPids().length;
  process.kill(pid, 'SIGKILL');
  const death = await m.waitForLog(died(pid), `the death of plugin ${pid}`);
  t.equal(death.level, 'error', 'the death is logged at error level');
  t.match(death, { plugin: 'local', signal: 'SIGKILL' }, 'with the plugin name and the signal');
  const next = await waitFor(() => m.pluginPids()[before], { what: 'a new plugin process', timeoutMs: 30_000 });
  t.not(next, pid, 'a new process');
  t.ok(alive(next));
  await m.waitForLog((e) => e.msg === 'plugin restarted' && e.pid === next, 'the restart');
  return next;
}

t.test('SIGKILL of the plugin while a job runs and while idle: restarted, the running job finishes, later jobs run', async (t) => {
  const dir = tmpDir(t, { prefix: 'run-plugin-kill' });
  const s = await startGitLabStandin({ traceUpdateIntervalSeconds: 1, longPollMs: 5_000 });
  t.teardown(() => s.close());
  const { token } = s.registerRunner();
  const config = writeRunConfig({ dir, url: s.url, token, subnet: '127.84.1.0/24' });
  editConfig(config, [['plugin = "local"', 'plugin = "local"\ninstance_acquire_timeout = "30s"']]);
  const m = startManager(t, config);
  const go = join(dir, 'go');
  const running = s.enqueueJob({ variables: NO_GIT, script: ['echo started', `while [ ! -e ${go} ]; do sleep 0.1; done`, 'echo finished'] });
  await s.waitForTrace(running.id, (tr) => /^(?:\S+ [0-9a-f]{2}[OE][ +])?started$/m.test(tr));

  const first = m.pluginPids()[0]!;
  const second = await killPlugin(t, m, first);
  const after = s.enqueueJob({ variables: NO_GIT, script: ['echo enqueued after the kill'] });
  writeFileSync(go, '');
  await Promise.all([s.waitForJobState(running.id, ['success', 'failed']), s.waitForJobState(after.id, ['success', 'failed'])]);
  succeeded(t, s, running.id, 'the job that ran during the kill finished');
  t.match(s.traceOf(running.id), /^(?:\S+ [0-9a-f]{2}[OE][ +])?finished$/m);
  succeeded(t, s, after.id, 'a job enqueued right after the kill ran');

  await killPlugin(t, m, second);
  const idle = s.enqueueJob({ variables: NO_GIT, script: ['echo after an idle kill'] });
  await s.waitForJobState(idle.id, ['success', 'failed']);
  succeeded(t, s, idle.id, 'a job after a kill while idle ran');

  m.child.kill('SIGQUIT');
  t.same(await m.exited, { code: 0, signal: null });
  t.ok(m.pluginPids().every((p) => !alive(p)), 'no plugin process left');
  await noInstancesLeft(dir);
});

t.test('the plugin is killed while an instance is being created: the restarted plugin reports it, nothing leaks', async (t) => {
  const dir = tmpDir(t, { prefix: 'run-plugin-create' });
  const s = await startGitLabStandin({ traceUpdateIntervalSeconds: 1, longPollMs: 5_000 });
  t.teardown(() => s.close());
  const { token } = s.registerRunner();
  const config = writeRunConfig({ dir, url: s.url, token, subnet: '127.84.2.0/24' });
  editConfig(config, [
    ['plugin = "local"', 'plugin = "local"\ninstance_acquire_timeout = "45s"'],
    ['max_size = 4', 'max_size = 4\nboot_delay = "3s"'],
  ]);
  const m = startManager(t, config);
  const job = s.enqueueJob({ variables: NO_GIT, script: ['echo on the instance'] });
  const created = await m.waitForLog((e) => e.msg === 'instance created' && e.plugin === 'local', 'the plugin creating an instance');
  await killPlugin(t, m, m.pluginPids()[0]!);
  await s.waitForJobState(job.id, ['success', 'failed']);
  succeeded(t, s, job.id, 'the job ran');
  t.match(s.traceOf(job.id), new RegExp(`Instance ${String(created.id)} connected`), 'the job ran on the instance created before the kill');

  m.child.kill('SIGQUIT');
  t.same(await m.exited, { code: 0, signal: null });
  await noInstancesLeft(dir);
});

/** Processes whose command line mentions `text`. */
function processesWith(text: string): number[] {
  const out: number[] = [];
  for (const n of readdirSync('/proc')) {
    if (!/^\d+$/.test(n) || Number(n) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${n}/cmdline`, 'latin1').includes(text)) out.push(Number(n));
    } catch {
      // gone
    }
  }
  return out;
}

t.test('a plugin that crashes at every restart: growing back-off, jobs fail with the reason, SIGQUIT exits 0', async (t) => {
  const dir = tmpDir(t, { prefix: 'run-plugin-crashloop' });
  const s = await startGitLabStandin({ traceUpdateIntervalSeconds: 1, longPollMs: 5_000 });
  t.teardown(() => s.close());
  const { token } = s.registerRunner();
  const marker = join(dir, 'crash');
  const wrapper = script(
    join(dir, 'fleeting-plugin-flaky'),
    `if [ -e ${marker} ]; then echo "flaky: refusing to start" >&2; exit 3; fi\nexec ${process.execPath} ${LOCAL_PLUGIN}`,
  );
  const config = writeRunConfig({ dir, url: s.url, token, subnet: '127.84.3.0/24' });
  editConfig(config, [['plugin = "local"', `plugin = "${wrapper}"\ninstance_acquire_timeout = "2s"`]]);
  const m = startManager(t, config);
  // The fleet is up (plugin initialised, first update and scaling pass done) before the plugin goes bad.
  await m.waitForLog((e) => e.msg.startsWith('scaling: '), 'the first scaling pass');
  const pid = m.pluginPids()[0]!;
  writeFileSync(marker, '');
  process.kill(pid, 'SIGKILL');
  await m.waitForLog(died(pid), 'the death of the plugin');
  const restarts = (): LogEntry[] => m.log.filter((e) => e.msg === 'restarting plugin');
  await waitFor(() => m.log.filter((e) => e.msg === 'restarting plugin failed').length >= 3, { what: 'three failed restarts', timeoutMs: 30_000 });
  const waits = restarts().map((e) => Number(e.inMs));
  t.ok(waits.length >= 3 && waits.slice(1).every((w, i) => w > waits[i]!), `the back-off grows: ${waits.join(', ')} ms`);
  t.match(m.log.find((e) => e.msg === 'restarting plugin failed'), { level: 'error', err: /flaky: refusing to start/ }, 'each failure is logged with the plugin output');

  const job = s.enqueueJob({ variables: NO_GIT, script: ['echo never'] });
  await s.waitForJobState(job.id, ['success', 'failed']);
  t.equal(s.jobs.get(job.id)?.status, 'failed');
  t.match(s.traceOf(job.id), /fleeting plugin fleeting-plugin-flaky is not running \(restarting/, 'the job says why');
  t.ok(alive(m.pid), 'the manager stays up');

  m.child.kill('SIGQUIT');
  t.same(await m.exited, { code: 0, signal: null }, 'exits 0 while a restart is pending');
  t.same(processesWith(wrapper), [], 'no plugin process left');
  await noInstancesLeft(dir);
});

t.test('plugin = "aws" with no plugin installed never starts the aws program on PATH; fleeting-plugin-aws is found', async (t) => {
  const dir = tmpDir(t, { prefix: 'run-plugin-lookup' });
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const started = join(dir, 'aws-started');
  script(join(bin, 'aws'), `echo "$@" >> ${started}\nexit 1`);
  const saved = { PATH: process.env.PATH, FLEETING_PLUGIN_PATH: process.env.FLEETING_PLUGIN_PATH };
  process.env.PATH = `${bin}:${process.env.PATH ?? ''}`;
  process.env.FLEETING_PLUGIN_PATH = join(dir, 'plugins');
  t.teardown(() => Object.assign(process.env, saved));
  const s = await startGitLabStandin({ traceUpdateIntervalSeconds: 1, longPollMs: 5_000 });
  t.teardown(() => s.close());
  const { token } = s.registerRunner();
  const config = writeRunConfig({ dir, url: s.url, token, subnet: '127.84.4.0/24' });
  editConfig(config, [['plugin = "local"', 'plugin = "aws"']]);

  const m = startManager(t, config);
  const failed = await m.waitForLog((e) => e.msg === 'failed to process runner', 'the failed plugin lookup');
  t.match(failed.error, /plugin "aws": no installed version .*\/aws:latest .* and no fleeting-plugin-aws on PATH; install it with "runner fleeting install/);
  m.child.kill('SIGQUIT');
  t.same(await m.exited, { code: 0, signal: null });
  t.notOk(existsSync(started), 'the AWS CLI on PATH was not started as the plugin');

  const list = await run(process.execPath, [RUNNER_BIN, 'fleeting', 'list', '--config', config]).catch((e: { code: number; stderr: string }) => e);
  t.equal('code' in list ? list.code : 0, 1, 'fleeting list fails too');
  t.match(list.stderr, new RegExp(`install it with "runner fleeting install --config ${config}"`));

  const found = join(dir, 'fleeting-plugin-started');
  script(join(bin, 'fleeting-plugin-aws'), `echo started > ${found}\nexec ${process.execPath} ${LOCAL_PLUGIN}`);
  const listed = await run(process.execPath, [RUNNER_BIN, 'fleeting', 'list', '--config', config]);
  t.equal(listed.stdout, `runner: e2e, plugin: aws, path: ${join(bin, 'fleeting-plugin-aws')}\n`);
  const install = await run(process.execPath, [RUNNER_BIN, 'fleeting', 'install', '--config', config]);
  t.equal(install.stdout, `runner: e2e, plugin: aws, path: ${join(bin, 'fleeting-plugin-aws')} (already installed)\n`, 'install agrees and needs no registry');

  const second = startManager(t, config);
  const job = s.enqueueJob({ variables: NO_GIT, script: ['echo via fleeting-plugin-aws'] });
  await s.waitForJobState(job.id, ['success', 'failed']);
  succeeded(t, s, job.id, 'the job ran on fleeting-plugin-aws');
  t.ok(existsSync(found), 'fleeting-plugin-aws on PATH was the plugin');
  second.child.kill('SIGQUIT');
  t.same(await second.exited, { code: 0, signal: null });
  t.notOk(existsSync(started), 'aws was never started');
  await noInstancesLeft(dir);
});
