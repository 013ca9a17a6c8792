import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { FakeClock } from '@fleetrunner/common';
import { defaultConnectorConfig, runConformance, runPlugin } from '@fleetrunner/fleeting';
import { connectConfigOf, generateEd25519, sshConnect, sshExec } from '@fleetrunner/testing';
import { AwsInstanceGroup } from '../src/index.js';
import { FAST_RETRY, SSH_PORT, awsGroup, callsOf, runningInstances, standin, untilUpdate } from './harness.js';

const N = 60;

t.test('conformance suite passes in process', async (t) => {
  const s = await standin(t, N, { groups: [{ name: 'runners', maxSize: 4 }] });
  const p = await runPlugin(() => new AwsInstanceGroup({ retry: FAST_RETRY }));
  t.teardown(() => p.stop());
  const report = await runConformance(p.group, { pluginConfig: { name: 'runners', region: 'us-east-1' }, connector: { protocolPort: SSH_PORT }, timeoutMs: 30_000, pollIntervalMs: 50 });
  for (const c of report.checks) t.not(c.status, 'fail', `${c.name}: ${c.detail}`);
  t.match(report.provider, { id: 'aws/us-east-1/runners', maxSize: 4 });
  t.same([...s.cloud.instances.values()].filter((i) => i.ec2State !== 'terminated'), [], 'nothing left running');
});

t.test('init fails clearly: group not found, no region, empty group, bad connector key', async (t) => {
  const s = await standin(t, N + 1, { groups: [{ name: 'runners' }, { name: 'empty', maxSize: 0 }] });
  const home = mkdtempSync(join(tmpdir(), 'aws-home-'));
  t.teardown(() => rmSync(home, { recursive: true, force: true }));
  const init = (pluginConfig: Record<string, unknown>, options = {}, connector = {}) =>
    new AwsInstanceGroup({ retry: FAST_RETRY, ...options }).init({ pluginConfig, connector: defaultConnectorConfig(connector) });
  await t.rejects(init({ name: 'nope', region: 'us-east-1' }), {
    code: 'not_found',
    message: 'initializing: plugin_config.name: auto scaling group "nope" not found in region us-east-1',
  });
  await t.rejects(init({ name: 'runners' }, { env: { HOME: home } }), { code: 'invalid_argument', message: /^plugin_config\.region: no region configured .*profile "default" of .*\/\.aws\/config\)$/ });
  await t.rejects(init({ name: 'empty', region: 'us-east-1' }), { code: 'invalid_argument', message: /has MaxSize 0/ });
  await t.rejects(init({ name: 'runners', region: 'us-east-1' }, {}, { key: new TextEncoder().encode('garbage') }), { code: 'invalid_argument', message: /reading connector_config key/ });
  t.ok(await init({ name: 'runners' }, { env: { HOME: home, AWS_REGION: 'us-east-1' } }), 'AWS_REGION is enough');

  // No credentials anywhere (the SDK reads process.env itself): a clear auth_failed, quickly.
  const saved = { ...process.env };
  t.teardown(() => Object.assign(process.env, saved));
  for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_PROFILE', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE']) delete process.env[k];
  process.env.HOME = home;
  process.env.AWS_ENDPOINT_URL = s.endpoint;
  await t.rejects(init({ name: 'runners', region: 'us-east-1' }), { code: 'auth_failed', message: /CredentialsProviderError: Could not load credentials from any providers/ });
});

t.test('capacity: increase stops at MaxSize with partial success, decrease only touches the group’s instances', async (t) => {
  const s = await standin(t, N + 2, { groups: [{ name: 'runners', maxSize: 3 }] });
  const group = await awsGroup(t, s);
  t.same(await group.increase(2), { succeeded: 2 });
  const partial = await group.increase(2);
  t.equal(partial.succeeded, 1);
  t.match(partial.error, { code: 'no_capacity', message: /1 instance\(s\) over the group's MaxSize 3/ });
  t.equal(s.cloud.groups.get('runners')!.desiredCapacity, 3);
  t.match(await group.increase(1), { succeeded: 0, error: { code: 'no_capacity' } });
  const list = await untilUpdate(group, (l) => l.filter((i) => i.state === 'running').length === 3, '3 running');
  const [a, b] = list.map((i) => i.id);
  const terminates = callsOf(s, 'TerminateInstanceInAutoScalingGroup');
  const res = await group.decrease([a!, 'i-0123456789abcdef0']);
  t.same(res.succeeded, [a]);
  t.match(res.error, { code: 'instance_not_found', message: /i-0123456789abcdef0: not an instance of auto scaling group "runners"/ });
  t.equal(callsOf(s, 'TerminateInstanceInAutoScalingGroup') - terminates, 1, 'an unknown id costs no call');
  t.same((await group.decrease([a!])).succeeded, [a], 'deleting an instance twice is accepted');
  t.equal(callsOf(s, 'TerminateInstanceInAutoScalingGroup') - terminates, 1, '… without a second call');
  t.equal(s.cloud.groups.get('runners')!.desiredCapacity, 2, 'desired capacity shrinks with each deletion');
  await untilUpdate(group, (l) => !l.some((i) => i.id === a), `${a} gone`);
  t.same((await group.decrease([b!])).succeeded, [b]);
});

t.test('connect info: served from the last update, a fresh Instance Connect push each time, a real login', async (t) => {
  const s = await standin(t, N + 3, { groups: [{ name: 'runners', maxSize: 2 }] });
  const clock = new FakeClock(Date.UTC(2026, 5, 1));
  const group = await awsGroup(t, s, { options: { clock } });
  const [id] = await runningInstances(group, 1);
  const inst = s.cloud.instances.get(id!)!;
  const describes = callsOf(s, 'DescribeInstances');
  const pushes = callsOf(s, 'SendSSHPublicKey');
  const infos = [];
  for (let i = 0; i < 5; i++) infos.push(await group.connectInfo(id!));
  t.equal(callsOf(s, 'DescribeInstances'), describes, 'no DescribeInstances per connection');
  t.equal(callsOf(s, 'SendSSHPublicKey') - pushes, 5, 'a key push per connection (they last 60 s)');
  t.match(infos[0], { id, os: 'linux', arch: /amd64|arm64/, protocol: 'ssh', username: 'ec2-user', internalAddr: inst.privateIp, externalAddr: inst.publicIp, expiresAt: clock.now() + 60_000 });
  await group.heartbeat(id!);
  const client = await sshConnect(connectConfigOf(infos[4]!));
  t.teardown(() => client.end());
  t.equal((await sshExec(client, 'echo $USER')).code, 0);
  const ext = await sshConnect({ ...connectConfigOf(infos[4]!), host: infos[4]!.externalAddr });
  ext.end();
  t.pass('the external address serves SSH too');
  await t.rejects(group.connectInfo('i-0123456789abcdef0'), { code: 'instance_not_found' });
  await t.rejects(group.heartbeat('i-0123456789abcdef0'), { code: 'instance_not_found' });
});

t.test('out-of-band termination and spot interruption: deleting, then deleted once, and the group replaces them', async (t) => {
  const s = await standin(t, N + 4, { groups: [{ name: 'runners', maxSize: 3, spot: true }] });
  const group = await awsGroup(t, s);
  const [a, b] = await runningInstances(group, 2);
  s.cloud.terminateOutOfBand(a!);
  const first = await group.update();
  t.match(first.find((i) => i.id === a), { state: 'deleting' }, 'a terminated instance is deleting at once');
  await t.rejects(group.heartbeat(a!), { code: 'instance_unhealthy' });
  s.cloud.interrupt(b!);
  const after = await untilUpdate(group, (l) => l.some((i) => i.id === a && i.state === 'deleted') || !l.some((i) => i.id === a), `${a} deleted`);
  t.notOk(after.some((i) => i.id === a && i.state !== 'deleted'));
  const replaced = await untilUpdate(group, (l) => l.filter((i) => i.state === 'running' && i.id !== a && i.id !== b).length === 2, 'two replacements running');
  t.equal(replaced.filter((i) => i.state === 'running').length, 2, 'the group keeps its desired capacity');
  const later = await untilUpdate(group, (l) => !l.some((i) => i.id === a || i.id === b), 'both gone from the list');
  t.equal(later.length, 2);
});

t.test('Windows: WinRM with the Administrator password from GetPasswordData, decrypted with the key pair', async (t) => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const s = await standin(t, N + 5, { groups: [{ name: 'runners', maxSize: 1, platform: 'windows', keyPair: { name: 'ci', publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString() } }] });
  const keyed = await awsGroup(t, s, { connector: { key: Buffer.from(privateKey.export({ type: 'pkcs1', format: 'pem' })) } });
  const [id] = await runningInstances(keyed, 1);
  const info = await keyed.connectInfo(id!);
  t.match(info, { os: 'windows', protocol: 'winrm', username: 'Administrator', password: s.cloud.instances.get(id!)!.password });
  const calls = callsOf(s, 'GetPasswordData');
  await keyed.connectInfo(id!);
  t.equal(callsOf(s, 'GetPasswordData'), calls, 'the password is fetched once per instance');
  const keyless = await awsGroup(t, s);
  await keyless.update();
  await t.rejects(keyless.connectInfo(id!), { code: 'invalid_argument', message: /connector_config\.key_path: Windows passwords are encrypted/ });
});

t.test('static credentials: the connector key as given, no push; the key pair logs in', async (t) => {
  const kp = generateEd25519('pair');
  const s = await standin(t, N + 6, { groups: [{ name: 'runners', maxSize: 1, keyPair: { name: 'ci', publicKey: kp.publicKey } }] });
  const group = await awsGroup(t, s, { connector: { useStaticCredentials: true, username: 'ubuntu', key: new TextEncoder().encode(kp.privateKey) } });
  const [id] = await runningInstances(group, 1);
  const info = await group.connectInfo(id!);
  t.equal(callsOf(s, 'SendSSHPublicKey'), 0);
  t.equal(info.username, 'ubuntu');
  t.equal(info.expiresAt, undefined);
  const client = await sshConnect(connectConfigOf(info));
  t.equal((await sshExec(client, 'echo ok')).stdout, 'ok\n');
  client.end();
});
