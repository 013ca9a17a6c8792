import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { FakeClock, hasCode } from '@fleetrunner/common';
import { sshExec, tmpDir, waitFor } from '@fleetrunner/testing';
import { isAlive, killInstanceProcesses } from '../src/proc.js';
import { StateStore } from '../src/state-store.js';
import { connect, pidAlive, runningInstances, startGroup, untilAll, untilUpdate } from './harness.js';

const subnet = '127.78.3.0/24';

t.test('fail_increase_every: every Nth requested instance fails, the rest are counted', async (t) => {
  const { group } = await startGroup(t, { pluginConfig: { subnet, fail_increase_every: 2 } });
  const r = await group.increase(3);
  t.equal(r.succeeded, 2);
  t.ok(hasCode(r.error, 'unavailable'));
  t.match(r.error?.message, /increasing by 3: request 2 failed \(fail_increase_every=2\)/);
  const again = await group.increase(1);
  t.equal(again.succeeded, 0, 'request 4 fails too');
  t.ok(again.error);
  t.same((await untilAll(group, ['local-1', 'local-2'], 'running')).map((s) => s.id), ['local-1', 'local-2'], 'failed requests use no id');
  t.same(await group.increase(1), { succeeded: 1 }, 'request 5 succeeds');
});

t.test('max_size caps the group; deleting instances do not count', async (t) => {
  const { group } = await startGroup(t, { pluginConfig: { subnet, max_size: 2 } });
  const r = await group.increase(3);
  t.equal(r.succeeded, 2);
  t.ok(hasCode(r.error, 'no_capacity'));
  t.match(r.error?.message, /1 instance\(s\) over max_size 2/);
  t.same((await group.decrease(['local-1'])).succeeded, ['local-1']);
  t.same(await group.increase(1), { succeeded: 1 });
});

t.test('fail_decrease_every: every Nth id is refused and stays; deleted is reported once', async (t) => {
  const { group } = await startGroup(t, { pluginConfig: { subnet, fail_decrease_every: 2 } });
  const ids = await runningInstances(group, 3);
  const r = await group.decrease(ids);
  t.same(r.succeeded, [ids[0], ids[2]]);
  t.ok(hasCode(r.error, 'unavailable'));
  t.match(r.error?.message, new RegExp(`${ids[1]}: deletion 2 refused \\(fail_decrease_every=2\\)`));
  const list = await untilUpdate(group, (l) => l.filter((s) => s.state === 'deleted').length === 2, 'two deleted reports');
  t.same(list.find((s) => s.id === ids[1]), { id: ids[1], state: 'running' }, 'refused id keeps running');
  t.same(await group.update(), [{ id: ids[1], state: 'running' }], 'deleted ids are reported once, then dropped');
  t.same((await group.decrease([ids[1]!])).succeeded, [], 'deletion 4 is refused');
  t.same((await group.decrease([ids[1]!])).succeeded, [ids[1]], 'deletion 5 goes through');
  t.same(await group.decrease([]), { succeeded: [] });
});

t.test('boot_delay: creating until that long after the instance accepts SSH (injected clock)', async (t) => {
  const clock = new FakeClock();
  const { group } = await startGroup(t, { pluginConfig: { subnet, boot_delay: '10s' }, options: { clock } });
  t.same(await group.increase(1), { succeeded: 1 });
  const [id] = (await group.update()).map((s) => s.id);
  // The SSH server is really up (a command runs) while the plugin still reports creating.
  const client = await waitFor(() => connect(t, group, id!), { what: `${id} accepting SSH` });
  t.equal((await sshExec(client, 'echo up')).stdout, 'up\n');
  t.same(await group.update(), [{ id, state: 'creating' }]);
  await clock.advance(9_999);
  t.same(await group.update(), [{ id, state: 'creating' }]);
  await clock.advance(1);
  t.same(await group.update(), [{ id, state: 'running' }]);
});

t.test('vanish_after: a running instance is killed and removed behind the host\'s back', async (t) => {
  const clock = new FakeClock();
  const { group, stateDir } = await startGroup(t, { pluginConfig: { subnet, vanish_after: '1m' }, options: { clock } });
  const [id, later] = await runningInstances(group, 2);
  const rec = (await new StateStore(stateDir).load(id!))!;
  await clock.advance(59_999);
  t.match(await group.update(), [{ id, state: 'running' }, { id: later, state: 'running' }]);
  t.ok(isAlive(rec));
  await clock.advance(1);
  t.same(await group.update(), [], 'gone from update, neither deleting nor deleted');
  await waitFor(() => !isAlive(rec), { what: `${id} process to die` });
  await waitFor(() => !existsSync(join(stateDir, 'instances', id!)), { what: `${id} files removed` });
  await t.rejects(group.connectInfo(id!), { code: 'instance_not_found' });
  await t.rejects(group.heartbeat(id!), { code: 'instance_not_found' });
});

t.test('vanish_after counts across a plugin restart', async (t) => {
  const dir = tmpDir(t);
  const clock = new FakeClock();
  const first = await startGroup(t, { pluginConfig: { subnet, vanish_after: '1m' }, options: { clock }, stateDir: dir });
  const [id] = await runningInstances(first.group, 1);
  await first.group.shutdown();
  const rec = (await new StateStore(dir).load(id!))!;
  t.ok(isAlive(rec), 'survives the plugin');
  const second = await startGroup(t, { pluginConfig: { subnet, vanish_after: '1m' }, options: { clock: new FakeClock(clock.now() + 120_000) }, stateDir: dir });
  t.same(await second.group.update(), []);
  await waitFor(() => !isAlive(rec), { what: `${id} process to die` });
});

t.test('heartbeat: unhealthy by index or id, dead process, unknown id', async (t) => {
  const { group, stateDir } = await startGroup(t, { pluginConfig: { subnet, unhealthy: [2, 'local-3'] } });
  const ids = await runningInstances(group, 4);
  t.same(ids, ['local-1', 'local-2', 'local-3', 'local-4']);
  await group.heartbeat('local-1');
  await t.rejects(group.heartbeat('local-2'), { code: 'instance_unhealthy', message: /plugin_config\.unhealthy/ });
  await t.rejects(group.heartbeat('local-3'), { code: 'instance_unhealthy' });
  await t.rejects(group.heartbeat('nope'), { code: 'instance_not_found' });
  await t.rejects(group.connectInfo('nope'), { code: 'instance_not_found' });
  const rec = (await new StateStore(stateDir).load('local-4'))!;
  killInstanceProcesses(rec);
  await waitFor(() => !pidAlive(rec.pid), { what: 'local-4 to die' });
  await t.rejects(group.heartbeat('local-4'), { code: 'instance_unhealthy', message: /no running SSH server/ });
  t.match(await group.update(), [{ id: 'local-1', state: 'running' }, {}, {}, { id: 'local-4', state: 'timeout' }]);
});

t.test('an aborted signal stops a call before it starts', async (t) => {
  const { group } = await startGroup(t, { pluginConfig: { subnet } });
  const ac = new AbortController();
  ac.abort(new Error('stop'));
  await t.rejects(group.increase(1, { signal: ac.signal }), /stop/);
  t.same(await group.update(), []);
});

t.test('an instance that never accepts SSH reports timeout after the creation timeout', async (t) => {
  const clock = new FakeClock();
  const { group, stateDir } = await startGroup(t, { pluginConfig: { subnet }, options: { clock, createTimeoutMs: 60_000 } });
  t.same(await group.increase(1), { succeeded: 1 });
  // Freeze the instance process before it can listen (Node needs tens of ms to start it).
  const rec = (await new StateStore(stateDir).load('local-1'))!;
  process.kill(rec.pid, 'SIGSTOP');
  t.same(await group.update(), [{ id: 'local-1', state: 'creating' }]);
  await clock.advance(60_000);
  t.same(await group.update(), [{ id: 'local-1', state: 'creating' }]);
  await clock.advance(1);
  t.same(await group.update(), [{ id: 'local-1', state: 'timeout' }]);
  await t.rejects(group.heartbeat('local-1'), { code: 'instance_unhealthy' });
});

t.test('a fixed port: one loopback address per instance, and a clear error when the port is taken everywhere', async (t) => {
  const taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '0.0.0.0', r));
  t.teardown(() => taken.close());
  const busy = (taken.address() as { port: number }).port;
  const blocked = await startGroup(t, { pluginConfig: { subnet, port: busy } });
  const r = await blocked.group.increase(1);
  t.equal(r.succeeded, 0);
  t.ok(hasCode(r.error, 'no_capacity'));
  t.match(r.error?.message, new RegExp(`finding a free address in ${subnet.replace(/\./g, '\\.')} for port ${busy}`));

  const free = createServer();
  await new Promise<void>((r) => free.listen(0, '127.0.0.1', r));
  const port = (free.address() as { port: number }).port;
  await new Promise<void>((r) => free.close(() => r()));
  const { group } = await startGroup(t, { pluginConfig: { subnet: '127.78.6.0/24', port } });
  const ids = await runningInstances(group, 2);
  const infos = await Promise.all(ids.map((id) => group.connectInfo(id)));
  t.same(infos.map((i) => `${i.internalAddr}:${i.protocolPort}`), [`127.78.6.1:${port}`, `127.78.6.2:${port}`]);
  const client = await connect(t, group, ids[1]!);
  t.equal((await sshExec(client, 'echo ok')).stdout, 'ok\n');
});
