import t from 'tap';
import { runConformance, runPlugin } from '@fleetrunner/fleeting';
import { connectConfigOf, sshConnect, sshExec } from '@fleetrunner/testing';
import { GceInstanceGroup } from '../src/index.js';
import { FAST_RETRY, SSH_PORT, callsOf, gceGroup, pluginConfig, runningInstances, standin, untilUpdate } from './harness.js';

const N = 1;

t.test('conformance suite passes in process', async (t) => {
  const s = await standin(t, N, { groups: [{ name: 'runners', quota: 4 }] });
  const p = await runPlugin(() => new GceInstanceGroup({ retry: FAST_RETRY }));
  t.teardown(() => p.stop());
  const report = await runConformance(p.group, { pluginConfig: pluginConfig(s), connector: { protocolPort: SSH_PORT }, timeoutMs: 30_000, pollIntervalMs: 50 });
  for (const c of report.checks) t.not(c.status, 'fail', `${c.name}: ${c.detail}`);
  t.match(report.provider, { id: 'gcp/fleetrunner-test/us-central1-a/runners', maxSize: 1000 });
  t.same(s.cloud.groups.get('us-central1-a/runners')!.instances, [], 'nothing left');
  t.equal(s.cloud.groups.get('us-central1-a/runners')!.targetSize, 0);
});

t.test('connect info: one instances.get and one key push per instance, a real login on both addresses', async (t) => {
  const s = await standin(t, N + 1, { groups: [{ name: 'runners', quota: 2 }] });
  const group = await gceGroup(t, s, { connector: { username: 'ci' } });
  const [id] = await runningInstances(group, 1);
  const gets = callsOf(s, 'instances.get');
  const infos = [];
  for (let i = 0; i < 5; i++) infos.push(await group.connectInfo(id!));
  t.equal(callsOf(s, 'instances.get') - gets, 1, 'the instance is read once');
  t.equal(callsOf(s, 'instances.setMetadata'), 1, 'the key is pushed once');
  const inst = s.cloud.instances.get(`us-central1-a/${id}`)!;
  t.match(infos[0], { id, os: 'linux', arch: /amd64|arm64/, protocol: 'ssh', username: 'ci', internalAddr: inst.privateIp, externalAddr: inst.publicIp });
  t.ok(infos[0]!.expiresAt! > Date.now() + 3_000_000, 'the key works for about an hour');
  t.match(inst.metadata.items.find((i) => i.key === 'ssh-keys')?.value, /^ci:ssh-ed25519 \S+ google-ssh \{"userName":"ci","expireOn":"/);
  const client = await sshConnect(connectConfigOf(infos[4]!));
  t.teardown(() => client.end());
  t.equal((await sshExec(client, 'echo ok')).stdout, 'ok\n');
  const ext = await sshConnect({ ...connectConfigOf(infos[4]!), host: infos[4]!.externalAddr });
  ext.end();
  await group.heartbeat(id!);
  await t.rejects(group.connectInfo('runners-zzzz'), { code: 'instance_not_found' });
  await t.rejects(group.heartbeat('runners-zzzz'), { code: 'instance_not_found' });
  await t.rejects(sshConnect({ ...connectConfigOf(infos[4]!), username: 'root' }), /authentication/i, 'the key is only for its user');
});

t.test('decrease: one call for many, unknown names cost no call, deleting twice is accepted', async (t) => {
  const s = await standin(t, N + 2, { groups: [{ name: 'runners', quota: 3 }] });
  const group = await gceGroup(t, s);
  const [a, b, c] = await runningInstances(group, 3);
  const res = await group.decrease([a!, b!, 'runners-nope']);
  t.same(res.succeeded.sort(), [a, b].sort());
  t.match(res.error, { code: 'instance_not_found', message: /runners-nope: not an instance of instance group "runners"/ });
  t.equal(callsOf(s, 'instanceGroupManagers.deleteInstances'), 1, 'one call for both');
  t.same((await group.decrease([a!])).succeeded, [a], 'deleting again is accepted');
  t.equal(callsOf(s, 'instanceGroupManagers.deleteInstances'), 1, '… without a call');
  t.equal(s.cloud.groups.get('us-central1-a/runners')!.targetSize, 1, 'the target size shrinks with the deletions');
  // Deleted meanwhile behind the plugin's back: the batch is refused and each name is tried on its own.
  const d = s.cloud.deleteInstances('us-central1-a', 'runners', [`zones/us-central1-a/instances/${c}`], false);
  t.ok(d.name);
  await untilUpdate(group, (l) => !l.some((i) => i.id === a || i.id === b), 'a and b gone');
});
