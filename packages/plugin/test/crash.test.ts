import t from 'tap';
import { RunnerError, linkSignals } from '@fleetrunner/common';
import { fleetingV1 } from '@fleetrunner/proto';
import { callUnary, startPlugin, type PluginClient } from '../src/index.js';
import { fixture, processGone, recordingLogger } from './helpers.js';

// The way an adapter calls a plugin: the caller's signal linked with deadSignal, transport errors explained.
async function call(p: PluginClient, id: string): Promise<unknown> {
  const linked = linkSignals(p.deadSignal);
  try {
    return await callUnary(p.client, fleetingV1.InstanceGroupService.connectInfo, { id }, { signal: linked.signal });
  } catch (err) {
    throw await p.explainError(err);
  } finally {
    linked.dispose();
  }
}

async function rejection(promise: Promise<unknown>): Promise<RunnerError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof RunnerError)) throw new Error(`expected a RunnerError, got ${String(err)}`);
  return err;
}

t.test('a plugin that SIGKILLs itself mid-call: the call fails with plugin_crashed, later calls too, no zombie', async (t) => {
  const rec = recordingLogger();
  const p = await startPlugin({ path: fixture('good-plugin'), logger: rec.logger });
  t.teardown(() => p.kill());
  const t0 = Date.now();
  const err = await rejection(call(p, 'crash'));
  t.equal(err.code, 'plugin_crashed');
  t.match(err.message, fixture('good-plugin'));
  t.match(err.message, /killed by signal SIGKILL/);
  t.ok(Date.now() - t0 < 10_000, 'promptly');
  t.equal(p.state, 'exited');
  t.same(await p.exited, { code: null, signal: 'SIGKILL' });
  t.ok(processGone(p.pid), 'reaped');
  const later = await rejection(call(p, 'i-1'));
  t.equal(later.code, 'plugin_crashed', 'a future call fails at once');
  t.ok(rec.entries.some((e) => e.level === 'error' && e.msg === 'plugin exited unexpectedly'));
  await p.stop(); // still fine after a crash
});

t.test('the host SIGKILLs the plugin during a slow call: every pending call fails at once', async (t) => {
  const rec = recordingLogger();
  const p = await startPlugin({ path: fixture('good-plugin'), logger: rec.logger });
  t.teardown(() => p.kill());
  const pending = [call(p, 'slow'), call(p, 'slow')];
  await rec.waitFor((e) => e.msg === 'slow call started');
  process.kill(p.pid, 'SIGKILL');
  for (const c of pending) {
    const err = await rejection(c);
    t.equal(err.code, 'plugin_crashed');
    t.match(err.message, /exited unexpectedly \(killed by signal SIGKILL\)/);
  }
  await p.exited;
  t.ok(processGone(p.pid));
  const ping = await rejection(p.ping());
  t.equal(ping.code, 'plugin_crashed');
});

t.test('a plugin error is not mistaken for a crash', async (t) => {
  const p = await startPlugin({ path: fixture('good-plugin') });
  t.teardown(() => p.stop());
  const err = await call(p, 'error').then(
    () => undefined,
    (e: unknown) => e,
  );
  t.match(err, { details: 'boom', code: 2 }, 'status UNKNOWN with the message, as a Go plugin error');
  t.equal(p.state, 'running');
});

t.test('the caller aborting a call cancels it without harming the plugin', async (t) => {
  const rec = recordingLogger();
  const p = await startPlugin({ path: fixture('good-plugin'), logger: rec.logger });
  t.teardown(() => p.stop());
  const ac = new AbortController();
  const slow = callUnary(p.client, fleetingV1.InstanceGroupService.connectInfo, { id: 'slow' }, { signal: ac.signal });
  await rec.waitFor((e) => e.msg === 'slow call started');
  ac.abort(new RunnerError('aborted', 'caller gave up'));
  t.match(await rejection(slow), { code: 'aborted', message: 'caller gave up' });
  await p.ping();
});
