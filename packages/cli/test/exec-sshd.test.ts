// `runner exec` with a config.toml that points at the local plugin in sshd mode: jobs run through real OpenSSH.
// Job timeouts and an interrupted run (SIGINT) kill the remote processes.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { tmpDir, waitFor } from '@fleetrunner/testing';
import { job, jobLog, purgeInstances, runExec, sandbox, writeTree } from './exec-harness.js';

const SSHD = '/usr/sbin/sshd';
const noSshd = existsSync(SSHD) ? false : `${SSHD} is missing (apt-get install openssh-server)`;

/** Walks the job shell's ancestors: an OpenSSH session has an `sshd` process above it. */
const WHO_SERVES = `p=$$; while [ "$p" -gt 1 ]; do c=$(cat /proc/$p/comm); case "$c" in sshd*|node) echo "served by $c"; break;; esac; p=$(cut -d' ' -f4 /proc/$p/stat); done`;

function alive(pid: number): boolean {
  try {
    return !/\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

t.test('sshd mode: jobs run through OpenSSH; a job timeout kills the remote script', { skip: noSshd }, async (t) => {
  const box = sandbox(t, { subnet: '127.101.4.0/28', mode: 'sshd' });
  const project = tmpDir(t, { prefix: 'cli-exec-sshd' });
  writeTree(project, {
    '.gitlab-ci.yml': `variables:
  QUOTED: "it's \\"quoted\\" & spaced"
where:
  script:
    - |
      ${WHO_SERVES}
    - echo "quoted=$QUOTED"
slow:
  timeout: 2s
  script:
    - echo $$ > "${box.dir}/slow.pid"
    - sleep 300
`,
  });
  const run = await runExec(t, box, project, []);
  t.equal(run.code, 1, 'the timed-out job fails the pipeline');
  t.match(job(run, 'where'), { status: 'success' });
  const log = jobLog(run.stdout, 'where');
  t.match(log, /^served by sshd/m, 'the job shell is an OpenSSH session');
  t.match(log, /^quoted=it's "quoted" & spaced$/m);
  t.match(job(run, 'slow'), { status: 'failed', failureReason: 'job_execution_timeout' });
  const pid = Number(readFileSync(join(box.dir, 'slow.pid'), 'utf8'));
  await waitFor(() => !alive(pid), { what: `the timed-out script (pid ${pid}) to be gone`, timeoutMs: 10_000 });
});

t.test('SIGINT cancels the running job, kills its remote script and deletes the instances', { skip: noSshd }, async (t) => {
  const box = sandbox(t, { subnet: '127.101.4.16/28', mode: 'sshd' });
  const project = tmpDir(t, { prefix: 'cli-exec-sigint' });
  const pidFile = join(box.dir, 'long.pid');
  writeTree(project, { '.gitlab-ci.yml': `long:\n  script:\n    - echo $$ > "${pidFile}.tmp" && mv "${pidFile}.tmp" "${pidFile}"\n    - sleep 300\nlater:\n  stage: deploy\n  script: [echo never]\n` });
  const running = runExec(t, box, project, [], 60_000, async (child) => {
    await waitFor(() => existsSync(pidFile), { what: 'the job script to start', timeoutMs: 30_000 });
    child.kill('SIGINT');
  });
  const run = await running;
  t.equal(run.code, 1);
  t.match(job(run, 'long'), { status: 'canceled' });
  t.notOk(job(run, 'later').instanceId, 'nothing runs after the interrupt');
  const pid = Number(readFileSync(pidFile, 'utf8'));
  await waitFor(() => !alive(pid), { what: `the canceled script (pid ${pid}) to be gone`, timeoutMs: 10_000 });
  t.notOk(existsSync(join(box.stateDir, 'instances', 'local-1')), 'the instance was deleted on the way out');
  purgeInstances(box.stateDir);
});
