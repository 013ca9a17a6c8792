import t from 'tap';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '@fleetrunner/common';
import { descendants, waitFor } from '@fleetrunner/testing';
import { afterScript, alive, LogCapture, payload, run, SH_USER, startInstance, step, stores, type TestInstance } from './support/job-harness.js';

if (process.getuid?.() !== 0) {
  t.test('executor job tests', { skip: 'need root to create a /bin/sh test user for sshd' }, async () => {});
} else {
  let inst: TestInstance;
  const st = stores();
  t.before(async () => {
    inst = await startInstance();
  });
  t.teardown(async () => {
    await inst?.stop();
    st.cleanup();
  });

  for (const shell of ['sh', 'bash'] as const) {
    t.test(`${shell}: a passing job runs every stage and exports variables`, async (t) => {
      const p = payload({
        variables: [
          { key: 'GREETING', value: "it's \"quoted\" $HOME", public: true, raw: true },
          { key: 'SECRET_TOKEN', value: 's3cr3t-value-xyz', public: false, masked: true },
          { key: 'CONFIG_FILE', value: 'line1\nline2', public: false, file: true },
        ],
        steps: [step(['echo "greeting=$GREETING"', 'echo "secret length=${#SECRET_TOKEN}"', 'cat "$CONFIG_FILE"', 'echo "slot cgroup=$GITLAB_RUNNER_SLOT_CGROUP"']), afterScript(['echo "after status=$CI_JOB_STATUS"'])],
      });
      const res = await run(inst, st, p, { shell, slot: 3, settings: { useSlotCgroups: true } });
      t.equal(res.status, 'success', res.log.text);
      t.match(res.log.text, `greeting=it's "quoted" $HOME`);
      t.match(res.log.text, 'secret length=16');
      t.match(res.log.text, 'line1\nline2');
      t.match(res.log.text, 'slot cgroup=gitlab-runner/slot-3');
      t.match(res.log.text, 'after status=success');
      t.notMatch(res.log.text, 's3cr3t-value-xyz', 'the generated scripts never print a masked value');
      t.match(res.log.text, new RegExp(`section_start:\\d+:step_script\r\u001b\\[0K`));
      t.same(res.stages.map((s) => s.name), ['prepare_script', 'get_sources', 'step_script', 'after_script', 'cleanup_file_variables']);
    });
  }

  t.test('a failing script fails with its exit code; after_script still runs', async (t) => {
    const p = payload({ steps: [step(['echo before', 'sh -c "exit 3"', 'echo never']), afterScript(['echo "after status=$CI_JOB_STATUS"'])] });
    const res = await run(inst, st, p);
    t.equal(res.status, 'failed');
    t.equal(res.failureReason, 'script_failure');
    t.equal(res.exitCode, 3);
    t.notMatch(res.log.text, /^never$/m);
    t.match(res.log.text, 'after status=failed');
  });

  t.test('a step timeout kills the remote script and fails with job_execution_timeout', async (t) => {
    const clock = new FakeClock();
    const log = new LogCapture();
    const p = payload({ steps: [step(['sleep 300 & echo "bg pid $!"; wait'], { timeout: 60 })] });
    const running = run(inst, st, p, { clock, log });
    const pid = Number((await log.waitFor(/^bg pid (\d+)$/m))[1]);
    t.ok(alive(pid), 'the remote sleep runs');
    await clock.advance(61_000);
    const res = await running;
    t.equal(res.status, 'failed');
    t.equal(res.failureReason, 'job_execution_timeout');
    await waitFor(() => !alive(pid), { timeoutMs: 10_000, what: `remote pid ${pid} to exit` });
    t.notOk(alive(pid), 'the remote process is gone');
  });

  t.test('a get_sources timeout ends the job at once with job_execution_timeout', async (t) => {
    const clock = new FakeClock();
    const log = new LogCapture();
    // Runner hooks run only with the clone/fetch strategies; the hook stalls before any git command runs.
    const p = payload({ variables: [{ key: 'GIT_STRATEGY', value: 'clone', public: true }], steps: [step(['echo never-runs'])], artifacts: [{ name: 'x', paths: ['x'], when: 'always', artifact_type: 'archive', artifact_format: 'zip' }] });
    const running = run(inst, st, p, { clock, log, settings: { getSourcesTimeoutMs: 30_000, scripts: { preGetSourcesScript: 'echo "fetching $$"; sleep 300' } } });
    const pid = Number((await log.waitFor(/^fetching (\d+)$/m))[1]);
    await clock.advance(31_000);
    const res = await running;
    t.equal(res.status, 'failed');
    t.equal(res.failureReason, 'job_execution_timeout');
    t.notMatch(log.text, 'never-runs');
    t.notOk(res.stages.some((s) => s.name.startsWith('upload_artifacts') || s.name === 'cleanup_file_variables'), 'no on-failure or cleanup stages');
    await waitFor(() => !alive(pid), { timeoutMs: 10_000, what: `remote pid ${pid} to exit` });
  });

  t.test('graceful cancel stops the script, runs after_script, reports canceled', async (t) => {
    const log = new LogCapture();
    const cancel = new AbortController();
    const p = payload({ steps: [step(['sleep 300 & echo "bg pid $!"; wait']), afterScript(['echo "after status=$CI_JOB_STATUS"'])] });
    const running = run(inst, st, p, { log, cancelSignal: cancel.signal });
    const pid = Number((await log.waitFor(/^bg pid (\d+)$/m))[1]);
    cancel.abort(new Error('canceled by the user'));
    const res = await running;
    t.equal(res.status, 'canceled');
    t.equal(res.failureReason, 'job_canceled');
    t.match(log.text, 'after status=canceled');
    await waitFor(() => !alive(pid), { timeoutMs: 10_000, what: `remote pid ${pid} to exit` });
  });

  t.test('a hard abort stops at once without after_script', async (t) => {
    const log = new LogCapture();
    const abort = new AbortController();
    const p = payload({ steps: [step(['echo started; sleep 300']), afterScript(['echo after-ran'])] });
    const running = run(inst, st, p, { log, abortSignal: abort.signal });
    await log.waitFor(/^started$/m);
    abort.abort(new Error('job canceled on the server'));
    const res = await running;
    t.equal(res.status, 'canceled');
    t.notMatch(log.text, 'after-ran');
  });

  t.test('artifacts pass between jobs with exclude rules; cache is restored by key', async (t) => {
    const producer = payload({
      steps: [step(['mkdir -p out/sub', 'echo one > out/a.txt', 'echo two > out/sub/b.txt', 'echo tmp > out/c.tmp', 'mkdir -p vendor && echo cached > vendor/lib.txt'])],
      artifacts: [{ name: 'out', paths: ['out/'], exclude: ['**/*.tmp'], when: 'on_success', artifact_type: 'archive', artifact_format: 'zip' }],
      cache: [{ key: 'deps-v1', paths: ['vendor/'], policy: 'pull-push', when: 'on_success' }],
    });
    const first = await run(inst, st, producer);
    t.equal(first.status, 'success', first.log.text);
    t.ok(first.stages.some((s) => s.name === 'upload_artifacts_on_success' && s.outcome === 'success'));
    const consumer = payload({
      variables: [{ key: 'GIT_STRATEGY', value: 'empty', public: true }],
      steps: [step(['find out vendor -type f | sort', 'cat vendor/lib.txt'])],
      dependencies: [{ id: producer.id, token: 'x', name: producer.jobInfo.name, artifacts_file: { filename: 'artifacts.zip', size: 1 } }],
      cache: [{ key: 'deps-v1', paths: ['vendor/'], policy: 'pull', when: 'on_success' }],
    });
    const second = await run(inst, st, consumer);
    t.equal(second.status, 'success', second.log.text);
    t.match(second.log.text, 'out/a.txt\nout/sub/b.txt\nvendor/lib.txt');
    t.notMatch(second.log.text, 'out/c.tmp', 'excluded files are not in the artifact');
    t.match(second.log.text, 'Successfully extracted cache');
  });

  t.test('sources are cloned from a real git repository', async (t) => {
    const repo = mkdtempSync(join(tmpdir(), 'executor-repo-'));
    t.teardown(() => rmSync(repo, { recursive: true, force: true }));
    chmodSync(repo, 0o755);
    const git = (...args: string[]) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' }).trim();
    git('init', '-q', '-b', 'main');
    writeFileSync(join(repo, 'README.md'), 'hello from git\n');
    git('add', '.');
    git('-c', 'user.name=t', '-c', 'user.email=t@e', 'commit', '-qm', 'first');
    const sha = git('rev-parse', 'HEAD');
    // The job runs as the instance's user: git refuses repositories owned by someone else.
    execFileSync('chown', ['-R', `${SH_USER}:`, repo]);
    const p = payload({
      git_info: { repo_url: `file://${repo}`, ref: 'main', sha, before_sha: '0'.repeat(40), ref_type: 'branch', refspecs: ['+refs/heads/*:refs/remotes/origin/*'], depth: 0 },
      variables: [{ key: 'GIT_STRATEGY', value: 'clone', public: true }],
      steps: [step(['cat README.md', 'git rev-parse HEAD'])],
    });
    const res = await run(inst, st, p);
    t.equal(res.status, 'success', res.log.text);
    t.match(res.log.text, 'hello from git');
    t.match(res.log.text, sha);
  });

  t.test('an instance that vanishes mid-job fails the job with a system failure', async (t) => {
    const doomed = await startInstance('inst-doomed');
    t.teardown(async () => {
      await doomed.stop();
      // The "VM" here is only its sshd: the orphaned job shell is left to clean up by hand.
      execFileSync('pkill', ['-KILL', '-u', SH_USER, '-f', 'sleep 300']);
    });
    const log = new LogCapture();
    const p = payload({ steps: [step(['echo started; sleep 300'])] });
    const running = run(doomed, st, p, { log });
    await log.waitFor(/^started$/m);
    // A vanished VM: every sshd process dies at once, so the client sees the connection drop without an exit status.
    const listener = Number(execFileSync('pgrep', ['-f', `ListenAddress=${doomed.sshd.host}:${doomed.sshd.port}`], { encoding: 'utf8' }).trim().split('\n')[0]);
    const sshds = [listener, ...descendants(listener)].filter((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sshd');
    for (const pid of sshds) process.kill(pid, 'SIGKILL');
    const res = await running;
    t.equal(res.status, 'failed');
    t.equal(res.failureReason, 'runner_system_failure');
  });
}
