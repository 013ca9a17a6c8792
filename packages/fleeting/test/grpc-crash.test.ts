import t from 'tap';
import { RunnerError } from '@fleetrunner/common';
import { defaultConnectorConfig, runPlugin } from '../src/index.js';
import { fixture, processGone, recordingLogger } from './grpc-helpers.js';

async function rejection(p: Promise<unknown>): Promise<RunnerError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof RunnerError)) throw new Error(`expected a RunnerError, got ${String(err)}`);
  return err;
}

t.test('a plugin that dies mid-call: plugin_crashed at once for that call and every later one', async (t) => {
  const running = await runPlugin(fixture('memory-plugin'), { startTimeoutMs: 30_000 });
  t.teardown(() => running.stop());
  const pid = running.pid!;
  const err = await rejection(running.group.connectInfo('crash'));
  t.equal(err.code, 'plugin_crashed');
  t.match(err.message, /getting connect info for instance crash: plugin .*memory-plugin\.js exited unexpectedly \(killed by signal SIGKILL\)/);
  for (const call of [running.group.update(), running.group.increase(1), running.group.heartbeat('i-1'), running.group.shutdown()]) {
    t.equal((await rejection(call)).code, 'plugin_crashed');
  }
  t.ok(processGone(pid), 'reaped, no zombie');
  await running.stop();
});

t.test('the plugin is SIGKILLed while calls are pending: they all fail with plugin_crashed', async (t) => {
  const rec = recordingLogger();
  const running = await runPlugin(fixture('memory-plugin'), { logger: rec.logger });
  t.teardown(() => running.stop());
  await running.group.init({ pluginConfig: {}, connector: defaultConnectorConfig() });
  const pending = [running.group.connectInfo('slow'), running.group.connectInfo('slow'), running.group.connectInfo('slow')];
  await rec.waitFor((e) => e.msg === 'slow call started');
  process.kill(running.pid!, 'SIGKILL');
  for (const p of pending) {
    const err = await rejection(p);
    t.equal(err.code, 'plugin_crashed');
    t.match(err.message, /memory-plugin\.js exited unexpectedly \(killed by signal SIGKILL\)/);
  }
  await running.process!.exited;
  t.ok(processGone(running.pid!));
  await running.stop();
});

t.test('an old plugin without Heartbeat and Shutdown: both count as success', async (t) => {
  const running = await runPlugin(fixture('old-plugin'));
  t.teardown(() => running.stop());
  await running.group.init({ pluginConfig: {}, connector: defaultConnectorConfig() });
  await running.group.heartbeat('anything');
  await running.group.shutdown();
  t.same(await running.group.increase(1), { succeeded: 1 });
  await running.stop();
  t.same(await running.process!.exited, { code: 0, signal: null });
});
