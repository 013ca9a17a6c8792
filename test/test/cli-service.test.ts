// install/uninstall/start/stop/restart/status through the `runner` binary: the systemd unit written into a temporary
// init dir (checked line by line and, where systemd-analyze exists, verified by it).
import t from 'tap';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tmpDir } from '@fleetrunner/testing';
import { RUNNER_BIN } from './run-harness.js';

const exec = promisify(execFile);

async function runner(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [RUNNER_BIN, ...args], { env: { ...process.env, CONFIG_FILE: '', FLEETRUNNER_INIT_DIR: '', ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

function hasSystemdAnalyze(): boolean {
  try {
    execFileSync('systemd-analyze', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

t.test('install writes a unit like GitLab Runner\'s; systemd-analyze accepts it; uninstall removes it', async (t) => {
  const dir = tmpDir(t, { prefix: 'cli-service' });
  const initDir = join(dir, 'systemd');
  const config = join(dir, 'etc', 'config.toml');
  const work = join(dir, 'home');
  const r = await runner(['install', '--init-dir', initDir, '--user', 'gitlab-runner', '--working-directory', work, '--config', config]);
  t.equal(r.code, 0, r.stderr);
  const unitFile = join(initDir, 'gitlab-runner.service');
  t.match(r.stdout, `Wrote ${unitFile}`);
  const unit = readFileSync(unitFile, 'utf8');
  const lines = unit.split('\n');
  t.same(lines.slice(0, 4), ['[Unit]', 'Description=GitLab Runner', `ConditionFileIsExecutable=${process.execPath}`, 'After=network.target']);
  t.ok(lines.includes('[Service]') && lines.includes('[Install]'));
  t.ok(lines.includes(`ExecStart="${process.execPath}" "${RUNNER_BIN}" "run" "--config" "${config}" "--working-directory" "${work}" "--service" "gitlab-runner" "--user" "gitlab-runner"`), unit);
  for (const l of ['StartLimitInterval=5', 'StartLimitBurst=10', 'Restart=always', 'RestartSec=120', 'EnvironmentFile=-/etc/sysconfig/gitlab-runner', 'WantedBy=multi-user.target', 'ExecReload=/bin/kill -HUP $MAINPID']) {
    t.ok(lines.includes(l), l);
  }
  t.notOk(lines.some((l) => l.startsWith('KillSignal=')), 'SIGTERM by default, as GitLab Runner\'s unit (jobs aborted within shutdown_timeout)');
  t.match(readFileSync(config, 'utf8'), /^concurrent = 1$/m, 'a first install writes an empty config');
  if (hasSystemdAnalyze()) {
    const v = await exec('systemd-analyze', ['verify', unitFile]).then(
      (o) => ({ code: 0, out: o.stderr + o.stdout }),
      (e: { code?: number; stderr?: string }) => ({ code: e.code ?? 1, out: e.stderr ?? '' }),
    );
    // Only complaints about this unit count (the host may have unrelated broken units).
    t.same(v.out.split('\n').filter((l) => l.includes('gitlab-runner.service')), [], `systemd-analyze verify: ${v.out}`);
  } else t.comment('systemd-analyze is not installed: the unit was only checked line by line');

  const again = await runner(['install', '--service', 'ci-drain', '--init-user', 'root', '--stop-signal', 'SIGQUIT', '--syslog', '--config', config], { FLEETRUNNER_INIT_DIR: initDir });
  t.equal(again.code, 0, again.stderr);
  const drain = readFileSync(join(initDir, 'ci-drain.service'), 'utf8').split('\n');
  for (const l of ['KillSignal=SIGQUIT', 'KillMode=mixed', 'TimeoutStopSec=infinity', 'User=root', 'EnvironmentFile=-/etc/sysconfig/ci-drain']) t.ok(drain.includes(l), l);
  t.ok(drain.some((l) => l.startsWith('ExecStart=') && l.endsWith('"--service" "ci-drain" "--syslog"')), 'the --init-user is not passed to run');

  const status = await runner(['status', '--init-dir', initDir]);
  t.equal(status.code, 1);
  t.match(status.stderr, /status: systemctl is not called for a unit under --init-dir/);
  const un = await runner(['uninstall', '--init-dir', initDir]);
  t.equal(un.code, 0, un.stderr);
  t.notOk(existsSync(unitFile), 'the unit is gone');
  const twice = await runner(['uninstall', '--init-dir', initDir]);
  t.equal(twice.code, 1);
  t.match(twice.stderr, /gitlab-runner\.service: the gitlab-runner service is not installed/);
});

t.test('install refuses bad input with what was expected', async (t) => {
  const dir = tmpDir(t, { prefix: 'cli-service-bad' });
  const base = ['install', '--init-dir', dir, '--config', join(dir, 'c.toml')];
  if (process.getuid?.() === 0) {
    const noUser = await runner(base);
    t.equal(noUser.code, 1);
    t.match(noUser.stderr, /please give the user that will run the gitlab-runner service \(--user or --init-user\)/);
  }
  const both = await runner([...base, '--user', 'a', '--init-user', 'b']);
  t.match(both.stderr, /only one of --user and --init-user can be given/);
  const sig = await runner([...base, '--user', 'a', '--stop-signal', 'SIGKILL']);
  t.match(sig.stderr, /--stop-signal: expected SIGTERM or SIGQUIT, got "SIGKILL"/);
  const name = await runner([...base, '--user', 'a', '--service', 'a b']);
  t.match(name.stderr, /--service: expected a unit name/);
  const start = await runner(['start', '--init-dir', dir]);
  t.equal(start.code, 1);
  t.match(start.stderr, /the gitlab-runner service is not installed \(run "runner install" first\)/);
});
