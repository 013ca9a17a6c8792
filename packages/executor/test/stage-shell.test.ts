// The job's one remote shell (job/stage-shell.ts) against a real OpenSSH sshd: stages after stages in one exec,
// each isolated in its own subshell; a stage sent along runs only after a success and only when claimed; a stop
// kills the shell and the next stage gets a new one.
import t from 'tap';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock } from '@fleetrunner/common';
import type { Connection, ExecOptions, ExecResult } from '@fleetrunner/connector';
import { waitFor } from '@fleetrunner/testing';
import { StageShell, type ShellContext } from '../src/job/stage-shell.js';
import { alive, LogCapture, startInstance, type TestInstance } from './support/job-harness.js';

if (process.getuid?.() !== 0) {
  t.test('stage shell tests', { skip: 'need root to create a /bin/sh test user for sshd' }, async () => {});
} else {
  let inst: TestInstance;
  t.before(async () => {
    inst = await startInstance('shell-1');
  });
  t.teardown(async () => inst?.stop());

  /** The instance's connection, counting execs. */
  function counted(): { connection: Connection; execs: () => number } {
    let n = 0;
    const inner = inst.connection;
    const connection = new Proxy(inner, {
      get(target, key, receiver) {
        if (key === 'exec') {
          return (command: string, options?: ExecOptions): Promise<ExecResult> => {
            n++;
            return target.exec(command, options);
          };
        }
        const v = Reflect.get(target, key, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    return { connection, execs: () => n };
  }

  function context(connection: Connection, log: LogCapture, shell: 'sh' | 'bash'): ShellContext {
    return { connection, log, clock: systemClock, settings: { shell, shortToken: 'abcd1234', managerHostname: 'manager', runnerVersion: { version: 'v', revision: 'r' }, killGraceMs: 500 } };
  }

  const stops = { cancellable: false, jobDeadline: new AbortController().signal };
  /** A stage script as the generator writes them: errexit and an `exit 0` at the end. */
  const stage = (body: string): string => `set -o errexit\n${body}\nexit 0\n`;

  for (const shell of ['sh', 'bash'] as const) {
    t.test(`${shell}: stages run one after another in one exec, isolated from each other`, async (t) => {
      const { connection, execs } = counted();
      const log = new LogCapture();
      const sh = new StageShell(context(connection, log, shell));
      t.same(await sh.run(stage('export LEAK=1; cd /tmp; echo one; echo err-one >&2'), stops), { ended: 'exit', exitCode: 0 });
      t.match(log.text, 'one\n');
      t.match(log.text, 'err-one\n', "the stage's stderr is in the log when it ends");
      t.same(await sh.run(stage('echo "two leak=${LEAK-unset} pwd=$PWD"; exit 3'), stops), { ended: 'exit', exitCode: 3 });
      t.same(await sh.run(stage('false; echo never'), stops), { ended: 'exit', exitCode: 1 }, 'errexit ends the stage only');
      t.same(await sh.run(stage('printf no-newline'), stops), { ended: 'exit', exitCode: 0 });
      await sh.close();
      t.match(log.text, `two leak=unset pwd=${inst.home}\n`, 'exports and cd stay in their stage');
      t.notMatch(log.text, 'never');
      t.match(log.text, /no-newline$/, 'output without a newline is passed on as it is');
      t.notMatch(log.text, /FR[0-9a-f]{16}/, 'no end marker in the log');
      t.equal(execs(), 1, 'one exec for four stages');
    });
  }

  t.test('a stage sent along runs after a success only, and its output waits until it is claimed', async (t) => {
    const dir = join(inst.home, `sent-along-${process.pid}`);
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const { connection, execs } = counted();
    const log = new LogCapture();
    const sh = new StageShell(context(connection, log, 'sh'));
    const second = stage(`echo second-output; : > ${dir}/second-ran`);
    t.same(await sh.run(stage(`mkdir -p ${dir}; exit 4`), stops, second), { ended: 'exit', exitCode: 4 });
    t.same(await sh.run(stage('echo after-failure'), stops), { ended: 'exit', exitCode: 0 });
    t.notOk(existsSync(join(dir, 'second-ran')), 'not after a failure');
    t.match(log.text, 'after-failure');

    t.same(await sh.run(stage('echo first-output'), stops, second), { ended: 'exit', exitCode: 0 });
    await waitFor(() => existsSync(join(dir, 'second-ran')), { what: 'the stage sent along ran' });
    t.notMatch(log.text, 'second-output', 'held until claimed');
    t.same(await sh.run(second, stops), { ended: 'exit', exitCode: 0 });
    t.match(log.text, /first-output\n[^]*second-output\n/);
    await sh.close();
    t.equal(execs(), 1);
  });

  t.test('a stage sent along and never claimed is killed with the shell', async (t) => {
    const dir = join(inst.home, `unclaimed-${process.pid}`);
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const log = new LogCapture();
    const sh = new StageShell(context(inst.connection, log, 'sh'));
    await sh.run(stage(`mkdir -p ${dir}`), stops, stage(`sleep 300 & echo $! > ${dir}/pid; wait`));
    await waitFor(() => existsSync(join(dir, 'pid')) && readFileSync(join(dir, 'pid'), 'utf8').endsWith('\n'), { what: 'the unclaimed stage started' });
    const pid = Number(readFileSync(join(dir, 'pid'), 'utf8'));
    t.ok(alive(pid));
    await sh.close();
    await waitFor(() => !alive(pid), { what: `remote pid ${pid} to exit` });
    t.notOk(alive(pid), 'its process is gone when the shell is closed');
  });

  t.test('a stop kills the stage and the next stage gets a new shell', async (t) => {
    const { connection, execs } = counted();
    const log = new LogCapture();
    const cancel = new AbortController();
    const sh = new StageShell({ ...context(connection, log, 'sh'), cancelSignal: cancel.signal });
    const running = sh.run(stage('echo started; sleep 300'), { ...stops, cancellable: true });
    await log.waitFor(/^started$/m);
    cancel.abort(new Error('canceled by the user'));
    t.same(await running, { ended: 'canceled', exitCode: null });
    t.same(await sh.run(stage('echo next'), stops), { ended: 'exit', exitCode: 0 }, 'a cancel does not stop a stage that is not cancellable');
    t.match(log.text, 'next\n');
    await sh.close();
    t.equal(execs(), 2);
  });
}
