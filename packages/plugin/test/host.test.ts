import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { RunnerError } from '@fleetrunner/common';
import { fleetingV1 } from '@fleetrunner/proto';
import { callUnary, startPlugin, type PluginClient } from '../src/index.js';
import { fixture, processGone, recordingLogger } from './helpers.js';

const started: PluginClient[] = [];
t.teardown(async () => {
  for (const p of started) await p.kill();
});

async function start(path: string, extra: Partial<Parameters<typeof startPlugin>[0]> = {}): Promise<PluginClient> {
  const p = await startPlugin({ path, startTimeoutMs: 30_000, ...extra });
  started.push(p);
  return p;
}

async function startError(path: string, extra: Partial<Parameters<typeof startPlugin>[0]> = {}): Promise<RunnerError> {
  try {
    await start(path, extra);
  } catch (err) {
    if (err instanceof RunnerError) return err;
    throw err;
  }
  throw new Error('expected startPlugin to fail');
}

t.test('starts a plugin, pings it, calls it, relays its logs and stops it gracefully', async (t) => {
  const rec = recordingLogger();
  const p = await start(fixture('good-plugin'), { logger: rec.logger, name: 'good' });
  t.equal(p.state, 'running');
  t.equal(p.appVersion, 1);
  t.ok(p.pid > 0);
  await p.ping();
  const info = await callUnary(p.client, fleetingV1.InstanceGroupService.connectInfo, { id: 'i-1' });
  t.equal(info.id, 'i-1');
  t.equal(info.internalAddr, '10.0.0.1');

  const ready = await rec.waitFor((e) => e.msg === 'fixture plugin ready');
  t.equal(ready.level, 'info');
  t.equal(ready.fields.plugin, 'good');
  t.equal(ready.fields.answer, 42);
  t.equal(ready.fields['@module'], 'good-plugin');
  t.match(String(ready.fields.timestamp), /\.\d{6}Z$/);

  await callUnary(p.client, fleetingV1.InstanceGroupService.connectInfo, { id: 'print' });
  const out = await rec.waitFor((e) => e.msg === 'hello from stdout');
  t.equal(out.level, 'debug');
  t.equal(out.fields.stream, 'stdout');

  await p.stop();
  await p.stop(); // idempotent
  t.equal(p.state, 'exited');
  t.same(await p.exited, { code: 0, signal: null });
  t.ok(p.deadSignal.aborted);
  t.equal((p.deadSignal.reason as RunnerError).code, 'unavailable');
  t.ok(processGone(p.pid), 'reaped');
  t.notOk(rec.entries.some((e) => e.msg.includes('failed to exit gracefully')));
  const after = await callUnary(p.client, fleetingV1.InstanceGroupService.connectInfo, { id: 'x' }, { signal: p.deadSignal }).catch((e: unknown) => e);
  t.equal((after as RunnerError).code, 'unavailable', 'calls after stop fail at once');
});

t.test('a plugin whose stop hangs is SIGKILLed after stopTimeoutMs and reaped', async (t) => {
  const rec = recordingLogger();
  const p = await start(fixture('good-plugin'), { logger: rec.logger, stopTimeoutMs: 300, env: { FIXTURE_HANG_ON_STOP: '1' } });
  await p.stop();
  t.same(await p.exited, { code: null, signal: 'SIGKILL' });
  t.ok(rec.entries.some((e) => e.msg.includes('failed to exit gracefully')));
  t.ok(processGone(p.pid));
});

t.test('stop with an aborted signal kills at once', async (t) => {
  const p = await start(fixture('good-plugin'), { env: { FIXTURE_HANG_ON_STOP: '1' }, stopTimeoutMs: 60_000 });
  const ac = new AbortController();
  const stopping = p.stop({ signal: ac.signal });
  ac.abort();
  await stopping;
  t.equal(p.state, 'exited');
  t.ok(processGone(p.pid));
});

t.test('a shell-script plugin (not .js) is executed directly; a non-executable one is refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'plugin-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const script = join(dir, 'plugin');
  writeFileSync(script, `#!/bin/sh\nexec "${process.execPath}" "${fixture('good-plugin')}"\n`);
  chmodSync(script, 0o644);
  const refused = await startError(script);
  t.equal(refused.code, 'plugin_start_failed');
  t.match(refused.message, /not executable/);
  t.match(refused.message, script);
  chmodSync(script, 0o755);
  const p = await start(script);
  await p.ping();
  t.equal(p.name, 'plugin');
  await p.stop();
  t.equal((await p.exited).code, 0);
});

t.test('start failures are clear, name the path and leave no process behind', async (t) => {
  const cases: { name: string; path: string; extra?: Partial<Parameters<typeof startPlugin>[0]>; code: string; match: RegExp[] }[] = [
    { name: 'missing binary', path: '/nonexistent/fleeting-plugin-x', code: 'plugin_start_failed', match: [/binary not found/, /fleeting-plugin-x/] },
    {
      name: 'wrong cookie: the plugin explains itself',
      path: fixture('wrong-cookie-plugin'),
      code: 'plugin_start_failed',
      match: [/exited before the handshake \(exit code 1\)/, /This binary is a plugin/, /wrong-cookie-plugin/],
    },
    { name: 'garbage handshake is quoted', path: fixture('garbage-plugin'), code: 'plugin_handshake', match: [/"hello, I am definitely not a plugin"/, /garbage-plugin/] },
    {
      name: 'wrong app version',
      path: fixture('good-plugin'),
      extra: { env: { FIXTURE_APP_VERSIONS: '7' } },
      code: 'plugin_handshake',
      match: [/unsupported app protocol version "7"/, /good-plugin/],
    },
    {
      name: 'AutoMTLS requested: the plugin refuses clearly',
      path: fixture('good-plugin'),
      extra: { env: { PLUGIN_CLIENT_CERT: '-----BEGIN CERTIFICATE-----' } },
      code: 'plugin_start_failed',
      match: [/exit code 1/, /AutoMTLS not supported/],
    },
    {
      name: 'never handshakes: timeout',
      path: fixture('silent-plugin'),
      extra: { startTimeoutMs: 500 },
      code: 'timeout',
      match: [/no handshake within 500 ms/, /silent-plugin/],
    },
  ];
  for (const c of cases) {
    const before = started.length;
    const err = await startError(c.path, c.extra);
    t.equal(err.code, c.code, c.name);
    for (const m of c.match) t.match(err.message, m, c.name);
    t.equal(started.length, before, 'nothing returned');
    const pid = err.details.pid;
    if (c.name !== 'missing binary') t.ok(typeof pid === 'number' && processGone(pid), `${c.name}: reaped`);
  }
});

t.test('an aborted start kills and reaps the child', async (t) => {
  const ac = new AbortController();
  const rec = recordingLogger();
  const starting = start(fixture('silent-plugin'), { signal: ac.signal, logger: rec.logger });
  await rec.waitFor((e) => e.msg.includes('thinking about it'));
  ac.abort(new RunnerError('aborted', 'changed my mind'));
  const err = await starting.catch((e: unknown) => e);
  t.match(err, { code: 'aborted', message: 'changed my mind' });
});

t.test('the plugin listens in PLUGIN_UNIX_SOCKET_DIR, honours PLUGIN_UNIX_SOCKET_GROUP and removes its socket', async (t) => {
  const { statSync, existsSync } = await import('node:fs');
  const dir = mkdtempSync(join(tmpdir(), 'plugin-sock-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const gid = process.getgid?.() ?? 0;
  const p = await start(fixture('good-plugin'), { env: { PLUGIN_UNIX_SOCKET_DIR: dir, PLUGIN_UNIX_SOCKET_GROUP: String(gid) } });
  t.match(p.address, new RegExp(`^${dir}/plugin\\d+$`));
  const st = statSync(p.address);
  t.ok(st.isSocket());
  t.equal(st.mode & 0o777, 0o660);
  t.equal(st.gid, gid);
  await p.stop();
  t.notOk(existsSync(p.address), 'socket removed');
});

t.test('callUnary honours deadlineMs', async (t) => {
  const rec = recordingLogger();
  const p = await start(fixture('good-plugin'), { logger: rec.logger });
  const err = await callUnary(p.client, fleetingV1.InstanceGroupService.connectInfo, { id: 'slow' }, { deadlineMs: 200 }).catch((e: unknown) => e);
  t.match(err, { code: 4 }, 'DEADLINE_EXCEEDED');
  await p.ping();
  await p.stop();
});
