// Faults that must fail one job for the right reason, and never run a job where it must not run, through the real
// `runner run`: an instance that vanishes under a running script, a NUL in a job variable, vm_isolation (fails
// closed), and config reloads that warn instead of silently ignoring or emptying.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { killAll, killTree, localInstancePid, tmpDir, waitFor } from '@fleetrunner/testing';
import { startGitLabStandin } from '../src/index.js';
import { RUNNER_BIN, instanceProcesses, noInstancesLeft, startManager, writeRunConfig } from './run-harness.js';

const NO_GIT = [{ key: 'GIT_STRATEGY', value: 'none', public: true }];

/**
 * Ways an instance goes away under a running script. `server`: only its SSH server dies (ssh2 mode), so the
 * channel closes without an exit status. `sweep`: every process of the instance is killed, deepest first (sshd
 * mode), as a host going down kills them one by one: sshd may still report the shell's death before it dies.
 */
const VANISH_CASES = [
  { name: 'its SSH server dies', mode: 'ssh2', subnet: '127.85.1.0/24', kill: (server: number) => killAll([server]) },
  { name: 'its processes are killed deepest first', mode: 'sshd', subnet: '127.85.5.0/24', kill: (server: number) => killTree(server) },
] as const;

for (const c of VANISH_CASES) {
  t.test(`an instance vanishes under a running script (${c.name}): runner_system_failure, not "exit code 1"`, async (t) => {
    const dir = tmpDir(t, { prefix: 'run-vanish' });
    const s = await startGitLabStandin({ traceUpdateIntervalSeconds: 1, longPollMs: 5_000 });
    t.teardown(() => s.close());
    const { token } = s.registerRunner();
    const m = startManager(t, writeRunConfig({ dir, url: s.url, token, subnet: c.subnet, capacity: 1, maxInstances: 2, mode: c.mode }));
    const marker = join(dir, 'doomed-instance');
    const doomed = s.enqueueJob({ variables: NO_GIT, script: [`echo "$FLEETRUNNER_LOCAL_INSTANCE" > "${marker}.tmp" && mv "${marker}.tmp" "${marker}"`, 'sleep 300'] });
    await waitFor(() => existsSync(marker), { what: 'the doomed job to start', timeoutMs: 60_000 }).catch((err: unknown) => {
      t.comment(s.traceOf(doomed.id), JSON.stringify(m.log.slice(-10)), m.other.slice(-10).join('\n'), `exit: ${m.child.exitCode} ${m.child.signalCode}`);
      throw err;
    });
    const server = localInstancePid(readFileSync(marker, 'utf8').trim());
    // What the dead instance leaves running (its job shell), killed at the end, as a vanished VM takes it along.
    const leftovers = instanceProcesses(dir);
    t.teardown(() => killAll(leftovers));
    c.kill(server);
    await s.waitForJobState(doomed.id, ['success', 'failed']);
    t.equal(s.finalStateOf(doomed.id)?.failureReason, 'runner_system_failure', 'a lost instance is a system failure');
    // Which failure the probe after the stage meets depends on how far the instance's death got: its connection
    // gone (seen mid-stage, or when the next stage finds it closed), or its SSH server still up but unable to open a
    // session.
    t.match(
      s.traceOf(doomed.id),
      /ERROR: Job failed \(system failure\): (connection to instance local-\d+ (\([\d.:]+\)|is closed)|opening a session on instance local-\d+: )/,
      'the log says the instance was lost',
    );
    t.notMatch(s.traceOf(doomed.id), /exit code/, 'no exit code is made up');
    const next = s.enqueueJob({ variables: NO_GIT, script: ['echo the manager goes on'] });
    await s.waitForJobState(next.id, ['success', 'failed']);
    t.equal(s.jobs.get(next.id)?.status, 'success', 'the next job runs on another instance');
    killAll(leftovers);
    m.child.kill('SIGQUIT');
    t.same(await m.exited, { code: 0, signal: null });
    await noInstancesLeft(dir);
  });
}

t.test('a NUL in a job variable fails that job as a system failure, naming the field, and the trace agrees', async (t) => {
  const dir = tmpDir(t, { prefix: 'run-nul' });
  const s = await startGitLabStandin({ traceUpdateIntervalSeconds: 1, longPollMs: 5_000 });
  t.teardown(() => s.close());
  const { token } = s.registerRunner();
  const m = startManager(t, writeRunConfig({ dir, url: s.url, token, subnet: '127.85.2.0/24' }));
  const bad = s.enqueueJob({ variables: [...NO_GIT, { key: 'WITH_NUL', value: 'a\u0000b', public: true }], script: ['echo never'] });
  await s.waitForJobState(bad.id, ['success', 'failed']);
  t.equal(s.finalStateOf(bad.id)?.failureReason, 'runner_system_failure');
  const trace = s.traceOf(bad.id);
  t.match(trace, /invalid job payload: variables\[\d+\]\.value: contains a NUL byte \(a shell cannot carry it\) \(variable WITH_NUL\)/, 'the trace names the field');
  t.notMatch(trace, /never/, 'no script ran');
  const good = s.enqueueJob({ variables: NO_GIT, script: ['echo fine'] });
  await s.waitForJobState(good.id, ['success', 'failed']);
  t.equal(s.jobs.get(good.id)?.status, 'success');
  m.child.kill('SIGQUIT');
  t.same(await m.exited, { code: 0, signal: null });
});

t.test('vm_isolation never falls back to the bare instance: a forbidden image or an unreachable nesting daemon fails the job', async (t) => {
  const dir = tmpDir(t, { prefix: 'run-vm-isolation' });
  const s = await startGitLabStandin({ traceUpdateIntervalSeconds: 1, longPollMs: 5_000 });
  t.teardown(() => s.close());
  const { token } = s.registerRunner();
  const file = writeRunConfig({
    dir,
    url: s.url,
    token,
    subnet: '127.85.3.0/24',
    runnerExtra: '[runners.instance]\nallowed_images = ["allowed/*"]',
  });
  writeFileSync(
    file,
    `${readFileSync(file, 'utf8')}[runners.autoscaler.vm_isolation]\nenabled = true\nnesting_host = "unix:///bogus/nesting.sock"\n[runners.autoscaler.vm_isolation.connector_config]\nusername = "root"\n`,
  );
  const validate = execFileSync(process.execPath, [RUNNER_BIN, 'config', 'validate', '--config', file], { encoding: 'utf8' });
  t.match(validate, /vm_isolation\.enabled: every job runs in a VM created through the nesting daemon on the instance/, 'config validate says what it needs');
  const m = startManager(t, file);
  const marker = join(dir, 'ran-on-the-host');
  const forbidden = s.enqueueJob({ variables: NO_GIT, image: { name: 'forbidden/image:latest' }, script: [`touch ${marker}`] });
  await s.waitForJobState(forbidden.id, ['success', 'failed']);
  t.equal(s.finalStateOf(forbidden.id)?.failureReason, 'runner_system_failure');
  t.match(s.traceOf(forbidden.id), /Job failed \(system failure\): the job's image "forbidden\/image:latest" is not allowed: it matches none of \[runners\.instance\] allowed_images \["allowed\/\*"\]/);
  t.notMatch(s.traceOf(forbidden.id), /Preparing instance/, 'no instance was even prepared');
  const unreachable = s.enqueueJob({ variables: NO_GIT, image: { name: 'allowed/macos:15' }, script: [`touch ${marker}`] });
  await s.waitForJobState(unreachable.id, ['success', 'failed']);
  t.equal(s.finalStateOf(unreachable.id)?.failureReason, 'runner_system_failure');
  t.match(s.traceOf(unreachable.id), /Instance local-\d+ connected/, 'the instance itself was reached');
  t.match(s.traceOf(unreachable.id), /Job failed \(system failure\): nesting VM on instance local-\d+: .*\/bogus\/nesting\.sock/, 'the failure names the nesting socket');
  t.notMatch(s.traceOf(unreachable.id), /step_script/, 'no stage of the job started');
  t.notOk(existsSync(marker), 'no stage ran on the instance');
  m.child.kill('SIGQUIT');
  t.same(await m.exited, { code: 0, signal: null });
  await noInstancesLeft(dir);
});

t.test('a reload logs the config warnings and warns when every runner is removed', async (t) => {
  const dir = tmpDir(t, { prefix: 'run-reload-warn' });
  const s = await startGitLabStandin({ traceUpdateIntervalSeconds: 1, longPollMs: 2_000 });
  t.teardown(() => s.close());
  const { token } = s.registerRunner();
  const file = writeRunConfig({ dir, url: s.url, token, subnet: '127.85.4.0/24' });
  const m = startManager(t, file);
  await m.waitForLog((e) => e.msg === 'starting multi-runner', 'the start');
  writeFileSync(file, readFileSync(file, 'utf8').replace('name = "e2e"', 'name = "e2e"\nnot_a_runner_key = true'));
  m.child.kill('SIGHUP');
  const w = await m.waitForLog((e) => e.msg === 'config' && String(e.diagnostic).includes('not_a_runner_key'), 'the unknown-key warning');
  t.match(String(w.diagnostic), /config\.toml:\d+: runners\[0\]\.not_a_runner_key: /, 'file, line and key, as config validate prints it');
  t.equal(w.level, 'warn');
  writeFileSync(file, '');
  m.child.kill('SIGHUP');
  const empty = await m.waitForLog((e) => /no \[\[runners\]\]: every runner was removed/.test(e.msg), 'the emptied-config warning');
  t.equal(empty.level, 'warn');
  t.equal(empty.removed, 1);
  m.child.kill('SIGQUIT');
  t.same(await m.exited, { code: 0, signal: null });
  await noInstancesLeft(dir);
});
