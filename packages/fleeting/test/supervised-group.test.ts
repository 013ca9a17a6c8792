import t, { type Test } from 'tap';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock, RunnerError, type LogEntry } from '@fleetrunner/common';
import { defaultConnectorConfig, runSupervisedPlugin, type SupervisedPluginOptions } from '../src/index.js';
import { fixture, processGone, recordingLogger, waitUntil } from './grpc-helpers.js';

async function rejection(p: Promise<unknown>): Promise<RunnerError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof RunnerError)) throw new Error(`expected a RunnerError, got ${String(err)}`);
  return err;
}

function setup(t: Test) {
  const dir = mkdtempSync(join(tmpdir(), 'fr-supervised-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const marker = join(dir, 'crash');
  const clock = new FakeClock();
  const rec = recordingLogger();
  const options: SupervisedPluginOptions = { logger: rec.logger, clock, name: 'flaky', env: { FLAKY_PLUGIN_MARKER: marker }, startTimeoutMs: 30_000 };
  /** The `n`th (from 1) "restarting plugin" entry, once logged. */
  const restarting = async (n: number): Promise<LogEntry> => {
    const all = (): LogEntry[] => rec.entries.filter((e) => e.msg === 'restarting plugin');
    await waitUntil(() => all().length >= n);
    return all()[n - 1]!;
  };
  return { marker, clock, rec, options, restarting };
}

/** Processes whose environment holds `entry` (each test's marker path is its own). */
function processesWithEnv(entry: string): number[] {
  const out: number[] = [];
  for (const n of readdirSync('/proc')) {
    if (!/^\d+$/.test(n)) continue;
    try {
      if (readFileSync(`/proc/${n}/environ`, 'latin1').split('\0').includes(entry)) out.push(Number(n));
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

const settings = { pluginConfig: { max_size: 1 }, connector: defaultConnectorConfig() };

t.test('a plugin that dies is restarted with growing back-off and Init again; calls meanwhile fail with plugin_restarting', async (t) => {
  const { marker, clock, rec, options, restarting } = setup(t);
  const sup = await runSupervisedPlugin(fixture('flaky-plugin'), options);
  t.teardown(() => sup.stop());
  await sup.group.init(settings);
  const first = sup.pid!;
  const restarted = new Promise<number>((resolve) => sup.group.onRestart(resolve));

  const inFlight = await rejection(sup.group.connectInfo('crash'));
  t.equal(inFlight.code, 'plugin_restarting', 'the call that was in flight');
  t.match(inFlight.message, /^fleeting plugin flaky is not running \(restarting\): plugin .*flaky-plugin\.js exited unexpectedly \(killed by signal SIGKILL\)/);
  t.equal(sup.group.state, 'restarting');
  t.equal(sup.pid, undefined);
  for (const call of [sup.group.update(), sup.group.increase(1), sup.group.heartbeat('i-1'), sup.group.connectInfo('i-1')]) {
    t.equal((await rejection(call)).code, 'plugin_restarting', 'a call while it is down');
  }
  t.ok(processGone(first), 'the dead process is reaped');
  t.match(await restarting(1), { level: 'warn', fields: { plugin: 'flaky', attempt: 1, inMs: 1000 } });

  writeFileSync(marker, '');
  const starts = (): number => rec.entries.filter((e) => e.msg === 'starting plugin').length;
  const before = starts();
  await clock.advance(999);
  t.equal(starts(), before, 'not started before the back-off ends');
  await clock.advance(1);
  t.match(await rec.waitFor((e) => e.msg === 'restarting plugin failed'), { level: 'error', fields: { attempt: 1, err: /exit code 3.*flaky: refusing to start/ } });
  t.match(await restarting(2), { fields: { attempt: 2, inMs: 2000 } }, 'the back-off doubles');
  t.match((await rejection(sup.group.update())).message, /not running \(restarting\): starting plugin .*flaky: refusing to start/, 'the latest failure is the reason');

  rmSync(marker);
  await clock.advance(2000);
  const pid = await restarted;
  t.not(pid, first);
  t.equal(sup.pid, pid);
  t.equal(sup.group.state, 'running');
  t.equal(sup.group.restarts, 1);
  t.match(rec.entries.find((e) => e.msg === 'plugin restarted'), { level: 'info', fields: { pid, attempt: 2, restarts: 1 } });
  t.match(await sup.group.increase(3), { succeeded: 1, error: { code: 'no_capacity' } }, 'Init ran again with the same plugin_config (max_size 1)');

  process.kill(pid, 'SIGKILL');
  t.match(await restarting(3), { fields: { attempt: 3, inMs: 4000 } }, 'died soon after its restart: the back-off goes on');
  const again = new Promise<number>((resolve) => sup.group.onRestart(resolve));
  await clock.advance(4000);
  const third = await again;
  await clock.advance(60_000);
  process.kill(third, 'SIGKILL');
  t.match(await restarting(4), { fields: { attempt: 1, inMs: 1000 } }, 'after a minute up it starts again at 1 s');

  await sup.stop();
  t.equal(sup.group.state, 'stopped');
  t.equal(clock.pendingTimers, 0, 'the pending restart timer is cleared');
  t.ok(processGone(third));
});

t.test('stop() while a restart waits or runs: no restart, no process left, calls say stopped', async (t) => {
  const { clock, rec, options, restarting } = setup(t);
  const sup = await runSupervisedPlugin(fixture('flaky-plugin'), options);
  await sup.group.init(settings);
  const pid = sup.pid!;
  process.kill(pid, 'SIGKILL');
  await restarting(1);
  await sup.stop();
  t.equal(clock.pendingTimers, 0, 'the back-off timer is cleared');
  await clock.advance(10_000);
  t.notOk(rec.entries.some((e) => e.msg === 'plugin restarted'));
  t.match(await rejection(sup.group.update()), { code: 'unavailable', message: /fleeting plugin flaky is stopped/ });
  await sup.stop();

  // Stopped in the middle of a restart: the half-started process is killed and reaped.
  const { clock: clock2, rec: rec2, options: options2, restarting: restarting2, marker: marker2 } = setup(t);
  const sup2 = await runSupervisedPlugin(fixture('flaky-plugin'), options2);
  await sup2.group.init(settings);
  process.kill(sup2.pid!, 'SIGKILL');
  await restarting2(1);
  const starts = rec2.entries.filter((e) => e.msg === 'starting plugin').length;
  await clock2.advance(1000);
  await waitUntil(() => rec2.entries.filter((e) => e.msg === 'starting plugin').length > starts);
  await sup2.stop();
  t.equal(sup2.group.state, 'stopped');
  t.equal(sup2.pid, undefined, 'no current process');
  t.same(processesWithEnv(`FLAKY_PLUGIN_MARKER=${marker2}`), [], 'the half-started process is gone');
});
