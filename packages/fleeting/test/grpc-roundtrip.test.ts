import t from 'tap';
import { RunnerError } from '@fleetrunner/common';
import { defaultConnectorConfig, runPlugin, type RunningPlugin } from '../src/index.js';
import { MemoryInstanceGroup } from './fixtures/memory-group.js';
import { fixture, recordingLogger } from './grpc-helpers.js';

async function rejection(p: Promise<unknown>): Promise<RunnerError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof RunnerError)) throw new Error(`expected a RunnerError, got ${String(err)}`);
  return err;
}

const targets: { name: string; start: () => Promise<RunningPlugin>; outOfProcess: boolean }[] = [
  { name: 'plugin process over gRPC', start: () => runPlugin(fixture('memory-plugin')), outOfProcess: true },
  { name: 'in-process factory', start: () => runPlugin(() => new MemoryInstanceGroup()), outOfProcess: false },
];

for (const target of targets) {
  t.test(`every RPC round-trips with its errors and partial success: ${target.name}`, async (t) => {
    const running = await target.start();
    t.teardown(() => running.stop());
    const g = running.group;
    t.equal(running.pid !== undefined, target.outOfProcess);

    const bad = await rejection(g.init({ pluginConfig: { max_size: 'big' }, connector: defaultConnectorConfig() }));
    t.equal(bad.code, 'invalid_argument');
    t.match(bad.message, /plugin_config\.max_size: must be a number/);

    const key = new TextEncoder().encode('-----BEGIN KEY-----');
    const connector = defaultConnectorConfig({ os: 'linux', arch: 'arm64', protocolPort: 2222, key, useStaticCredentials: true, keepaliveMs: 5000, timeoutMs: 7000 });
    const info = await g.init({ pluginConfig: { max_size: 3, unhealthy: ['i-2'] }, connector });
    t.match(info, { id: 'memory/local/test', maxSize: 3, capabilities: ['none'] });
    if (target.outOfProcess) {
      t.equal(info.version, '1.2.3', 'version filled in from serveInstanceGroup');
      t.match(info.buildInfo, /^sha=abc123; ref=; node=v\d+.*; built_at=2026-01-01T00:00:00Z; os_arch=linux\//);
    }

    t.same(await g.increase(2), { succeeded: 2 });
    t.same(await g.update(), [
      { id: 'i-1', state: 'running' },
      { id: 'i-2', state: 'creating' },
    ]);
    const partial = await g.increase(5);
    t.equal(partial.succeeded, 1);
    t.match(partial.error, { code: 'no_capacity', message: 'only 1 of 5 instances fit (max_size 3)' });

    const ci = await g.connectInfo('i-1');
    t.match(ci, { id: 'i-1', os: 'linux', arch: 'arm64', protocol: 'ssh', protocolPort: 2222, username: 'runner', internalAddr: '10.0.0.1', externalAddr: '' });
    t.match(ci, { useStaticCredentials: true, keepaliveMs: 5000, timeoutMs: 7000, expiresAt: Date.UTC(2030, 0, 1) });
    t.same(Buffer.from(ci.key).toString(), '-----BEGIN KEY-----');
    const missing = await rejection(g.connectInfo('nope'));
    t.equal(missing.code, 'instance_not_found');
    t.match(missing.message, /instance nope not found/);

    await g.heartbeat('i-1');
    const sick = await rejection(g.heartbeat('i-2'));
    t.equal(sick.code, 'instance_unhealthy');
    t.match(sick.message, /instance i-2 does not answer/);

    const dec = await g.decrease(['i-1', 'i-9']);
    t.same(dec.succeeded, ['i-1']);
    t.match(dec.error, { code: 'instance_not_found', message: 'unknown instances: i-9' });
    t.same(await g.decrease([]), { succeeded: [] });
    t.same((await g.update()).map((i) => i.id), ['i-2', 'i-3']);

    await g.shutdown();
    await running.stop();
    await running.stop();
  });
}

t.test('wire-only cases: bad JSON, bad protocol, plain errors, log relay and stop order', async (t) => {
  const rec = recordingLogger();
  const running = await runPlugin(fixture('memory-plugin'), { logger: rec.logger, name: 'memory' });
  t.teardown(() => running.stop());
  const { callUnary } = await import('@fleetrunner/plugin');
  const { fleetingV1 } = await import('@fleetrunner/proto');
  const client = running.process!.client;

  const badJson = await callUnary(client, fleetingV1.InstanceGroupService.init, { pluginConfigJson: new TextEncoder().encode('{nope') }).catch((e: unknown) => e);
  t.match(badJson, { code: 3, metadata: { internalRepr: new Map([['fleeting-error-code', ['invalid_argument']]]) } });
  t.match((badJson as Error).message, /parsing plugin_config JSON/);

  const badProto = await rejection(running.group.init({ pluginConfig: {}, connector: { ...defaultConnectorConfig(), protocol: 'telnet' as 'ssh' } }));
  t.equal(badProto.code, 'invalid_argument');
  t.match(badProto.message, /unknown protocol "telnet"/);

  await running.group.init({ pluginConfig: {}, connector: defaultConnectorConfig() });
  const ready = await rec.waitFor((e) => e.msg === 'memory group initialized');
  t.match(ready, { level: 'info', fields: { plugin: 'memory', maxSize: 3, '@module': 'fleeting-plugin-memory' } });

  const plain = await rejection(running.group.connectInfo('boom'));
  t.equal(plain.code, 'plugin_error');
  t.equal(plain.message, 'getting connect info for instance boom: plain failure');

  await running.stop();
  await rec.waitFor((e) => e.msg === 'memory group shut down');
  t.equal(running.process!.state, 'exited');
  t.same(await running.process!.exited, { code: 0, signal: null });
});

t.test('the caller aborting a call cancels it; the plugin keeps serving', async (t) => {
  const rec = recordingLogger();
  const running = await runPlugin(fixture('memory-plugin'), { logger: rec.logger });
  t.teardown(() => running.stop());
  await running.group.init({ pluginConfig: {}, connector: defaultConnectorConfig() });
  const ac = new AbortController();
  const slow = running.group.connectInfo('slow', { signal: ac.signal });
  await rec.waitFor((e) => e.msg === 'slow call started');
  ac.abort(new RunnerError('aborted', 'job cancelled'));
  const err = await rejection(slow);
  t.equal(err.code, 'aborted');
  t.match(err.message, /job cancelled/);
  await running.group.heartbeat('nope').catch(() => {});
  await running.process!.ping();
});
