// Global flags, run's flags (as GitLab Runner's systemd unit passes them), register by environment variables and
// --template-config, and fleeting -c FILE list, through the `runner` binary.
import t from 'tap';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tmpDir } from '@fleetrunner/testing';
import { startGitLabStandin } from '../src/index.js';
import { RUNNER_BIN, writeRunConfig } from './run-harness.js';

const exec = promisify(execFile);

async function runner(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [RUNNER_BIN, ...args], { env: { ...process.env, CONFIG_FILE: '', ...env }, ...(cwd ? { cwd } : {}) });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** Starts `runner <args>` and collects its stderr lines until it exits. */
function start(args: string[], env: NodeJS.ProcessEnv = {}): { lines: string[]; until(re: RegExp): Promise<string>; exited: Promise<number | null>; kill(sig: NodeJS.Signals): void } {
  const child = spawn(process.execPath, [RUNNER_BIN, ...args], { env: { ...process.env, CONFIG_FILE: '', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  const lines: string[] = [];
  let buf = '';
  const waiters = new Set<() => void>();
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    buf += d;
    const parts = buf.split('\n');
    buf = parts.pop()!;
    lines.push(...parts);
    for (const w of [...waiters]) w();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  void exited.then(() => {
    for (const w of [...waiters]) w();
  });
  let gone = false;
  void exited.then(() => (gone = true));
  return {
    lines,
    exited,
    kill: (sig) => child.kill(sig),
    until: (re) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const hit = lines.find((l) => re.test(l));
          if (hit !== undefined) {
            waiters.delete(check);
            resolve(hit);
          } else if (gone) {
            waiters.delete(check);
            reject(new Error(`exited before a line matching ${re}: ${lines.slice(-10).join('\n')}`));
          }
        };
        waiters.add(check);
        check();
      }),
  };
}

t.test('global flags before run, and the run flags of GitLab Runner\'s unit; LISTEN_ADDRESS', async (t) => {
  const dir = tmpDir(t, { prefix: 'cli-flags-run' });
  const s = await startGitLabStandin({ longPollMs: 0 });
  t.teardown(() => s.close());
  const { token } = s.registerRunner();
  writeRunConfig({ dir, url: s.url, token, subnet: '127.95.2.0/24' });
  // Relative --config: resolved in --working-directory. The config says log_format json: --log-format text wins.
  const m = start(['--debug', '--log-format', 'text', 'run', '--working-directory', dir, '--config', 'config.toml', '--service', 'gitlab-runner', '--user', 'gitlab-runner', '--syslog', '--listen-address', '127.95.2.1:0']);
  t.teardown(() => m.kill('SIGKILL'));
  const listening = await m.until(/metrics server listening/);
  t.match(listening, /address=127\.95\.2\.1:\d+/, '--listen-address wins; text format');
  t.match(await m.until(/^\S+ DEBUG /), /DEBUG/, '--debug logs debug lines');
  t.ok(m.lines.some((l) => l.includes('--user is not used by the instance executor')), '--user is acknowledged, not ignored silently');
  t.ok(m.lines.some((l) => l.includes('--syslog: the log is written to stderr')));
  m.kill('SIGQUIT');
  t.equal(await m.exited, 0);

  const e = start(['run', '-c', join(dir, 'config.toml')], { LISTEN_ADDRESS: '127.95.2.2:0', LOG_FORMAT: 'json', LOG_LEVEL: 'info' });
  t.teardown(() => e.kill('SIGKILL'));
  const line = await e.until(/metrics server listening/);
  t.match(JSON.parse(line), { level: 'info', address: /^127\.95\.2\.2:\d+$/ }, 'LISTEN_ADDRESS, LOG_FORMAT and LOG_LEVEL');
  e.kill('SIGQUIT');
  t.equal(await e.exited, 0);

  const bad = await runner(['--log-level', 'loud', 'list']);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /--log-level: expected trace, debug, info, warn, error, fatal or panic, got "loud"/);
  const badEnv = await runner(['list'], { LOG_FORMAT: 'xml' });
  t.match(badEnv.stderr, /LOG_FORMAT: expected runner, text or json, got "xml"/);
  const wd = await runner(['run', '--working-directory', join(dir, 'nope')]);
  t.equal(wd.code, 1);
  t.match(wd.stderr, /--working-directory .*nope: /);
});

t.test('register from environment variables writes no [runners.autoscaler] (no local default); run says what is missing', async (t) => {
  const dir = tmpDir(t, { prefix: 'cli-flags-register' });
  const s = await startGitLabStandin({ longPollMs: 0 });
  t.teardown(() => s.close());
  const a = s.registerRunner();
  const config = join(dir, 'config.toml');
  const r = await runner(['register', '--non-interactive'], { CONFIG_FILE: config, CI_SERVER_URL: s.url, RUNNER_TOKEN: a.token, RUNNER_NAME: 'from-env', RUNNER_EXECUTOR: 'instance', RUNNER_LIMIT: '4', RUNNER_SHELL: 'sh' });
  t.equal(r.code, 0, r.stderr);
  const text = readFileSync(config, 'utf8');
  t.match(text, /^ {2}name = "from-env"$/m);
  t.match(text, new RegExp(`^  token = "${a.token}"$`, 'm'));
  t.match(text, /^ {2}limit = 4$/m);
  t.match(text, /^ {2}shell = "sh"$/m);
  t.notMatch(text, /autoscaler|local/, 'no plugin is chosen for the user');
  t.match(r.stderr, /No \[runners\.autoscaler\] was written/);
  const run = await runner(['run', '--config', config]);
  t.equal(run.code, 1);
  t.match(run.stderr, /runners\[0\]\.autoscaler: required/);
  t.match(run.stderr, /register --template-config FILE/);
  const flagWins = await runner(['register', '--config', config, '--url', s.url, '--token', a.token, '--name', 'flag'], { RUNNER_NAME: 'env' });
  t.equal(flagWins.code, 0, flagWins.stderr);
  t.match(readFileSync(config, 'utf8'), /^ {2}name = "flag"$/m, 'a flag wins over its variable');
  const badBool = await runner(['register', '--config', config, '--url', s.url, '--registration-token', s.registrationToken], { REGISTER_PAUSED: 'maybe' });
  t.match(badBool.stderr, /REGISTER_PAUSED: expected a boolean/);
});

t.test('register --template-config adds the template\'s keys and tables; flags win', async (t) => {
  const dir = tmpDir(t, { prefix: 'cli-flags-template' });
  const s = await startGitLabStandin({ longPollMs: 0 });
  t.teardown(() => s.close());
  const a = s.registerRunner();
  const template = join(dir, 'template.toml');
  writeFileSync(
    template,
    `[[runners]]\n  name = "from-template"\n  limit = 2\n  output_limit = 8192\n  environment = [\n    "A=1",\n    "B=2",\n  ]\n  [runners.autoscaler]\n    plugin = "local"\n    capacity_per_instance = 2\n    max_instances = 3\n    [runners.autoscaler.plugin_config]\n      subnet = "127.95.3.0/24"\n    [[runners.autoscaler.policy]]\n      idle_count = 0\n`,
  );
  const config = join(dir, 'config.toml');
  const r = await runner(['register', '--config', config, '--url', s.url, '--token', a.token, '--limit', '5', '--template-config', template]);
  t.equal(r.code, 0, r.stderr);
  const text = readFileSync(config, 'utf8');
  t.match(text, /^ {2}name = "from-template"$/m, 'the template names the runner when --name is not given');
  t.match(text, /^ {2}limit = 5$/m, 'the flag wins');
  t.notMatch(text, /limit = 2/);
  t.match(text, /^ {2}output_limit = 8192$/m, 'template keys are added');
  t.match(text, /environment = \[\n {4}"A=1",\n {4}"B=2",\n {2}\]/, 'multi-line values are kept whole');
  t.match(text, /\[runners\.autoscaler\]\n {4}plugin = "local"\n {4}capacity_per_instance = 2/);
  t.match(text, /\[\[runners\.autoscaler\.policy\]\]/);
  const list = await runner(['list', '--config', config]);
  t.equal(list.code, 0, list.stderr);
  const cv = await runner(['config', 'validate', '--config', config]);
  t.equal(cv.code, 0, `the written config is valid: ${cv.stderr}`);
  writeFileSync(join(dir, 'two.toml'), '[[runners]]\n  name = "a"\n[[runners]]\n  name = "b"\n');
  const two = await runner(['register', '--config', config, '--url', s.url, '--token', a.token, '--template-config', join(dir, 'two.toml')]);
  t.equal(two.code, 1);
  t.match(two.stderr, /the template must hold exactly one \[\[runners\]\] entry, found 2/);
});

t.test('fleeting -c FILE list (GitLab Runner\'s flag order) resolves every plugin run accepts', async (t) => {
  const dir = tmpDir(t, { prefix: 'cli-flags-fleeting' });
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const plugin = join(bin, 'fleeting-plugin-mine');
  writeFileSync(plugin, '#!/bin/sh\nexit 1\n', { mode: 0o755 });
  const config = writeRunConfig({
    dir,
    url: 'http://127.95.4.1:1',
    token: 'glrt-aaaaaaaaaaaaaaaaaaaa',
    subnet: '127.95.4.0/24',
    moreRunners: `[[runners]]\nname = "by-path"\nurl = "http://127.95.4.1:1"\ntoken = "glrt-bbbbbbbbbbbbbbbbbbbb"\nexecutor = "instance"\n[runners.autoscaler]\nplugin = "${plugin}"\n`,
  });
  for (const args of [['fleeting', '-c', config, 'list'], ['fleeting', '--config', config, 'list'], ['fleeting', 'list', '-c', config]]) {
    const r = await runner(args);
    t.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    t.match(r.stdout, /plugin: local, path: \S+plugin\.js/, 'the embedded local plugin');
    t.match(r.stdout, `plugin: ${plugin}, path: ${plugin}`, 'a plugin by path');
  }
  const missing = await runner(['fleeting', '-c']);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /-c: a config file is required/);
});
