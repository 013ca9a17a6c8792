import t from 'tap';
import { defaultConnectorConfig, runConformance, runPlugin } from '@fleetrunner/fleeting';
import { connectConfigOf, generateEd25519, sshConnect, sshExec } from '@fleetrunner/testing';
import { AzureInstanceGroup } from '../src/index.js';
import { PASSWORD, RG, USER, azureGroup, callsOf, groupOptions, pluginConfig, runningInstances, scaleSet, standin, staticConnector, untilUpdate } from './harness.js';

const N = 1;

t.test('conformance suite passes in process, with the scale set password', async (t) => {
  const s = await standin(t, N, { scaleSets: [scaleSet('runners', { quota: 4 })] });
  const p = await runPlugin(() => new AzureInstanceGroup(groupOptions(s)));
  t.teardown(() => p.stop());
  const report = await runConformance(p.group, { pluginConfig: pluginConfig(s), connector: staticConnector(), timeoutMs: 30_000, pollIntervalMs: 50 });
  for (const c of report.checks) t.not(c.status, 'fail', `${c.name}: ${c.detail}`);
  t.match(report.provider, { id: `azure/${s.subscriptionId}/${RG}/runners`, maxSize: 1000 });
  t.same(s.cloud.scaleSet(RG, 'runners').vms, [], 'nothing left');
  t.equal(s.cloud.scaleSet(RG, 'runners').capacity, 0);
});

t.test('connect info: addresses read once per VM, a real password login on both addresses, OS and user from the VM', async (t) => {
  const s = await standin(t, N + 1, { scaleSets: [scaleSet('runners', { quota: 2 })] });
  const group = await azureGroup(t, s, { connector: { username: '' } });
  const [id] = await runningInstances(group, 1);
  t.match(id, /^runners_\d+$/);
  const infos = [];
  for (let i = 0; i < 5; i++) infos.push(await group.connectInfo(id!));
  t.equal(callsOf(s, 'network:networkInterfaces.listVirtualMachineScaleSetVMNetworkInterfaces'), 1, 'the NIC is read once');
  t.equal(callsOf(s, 'network:publicIPAddresses.getVirtualMachineScaleSetPublicIPAddress'), 1, 'the public address is read once');
  const vm = s.cloud.scaleSet(RG, 'runners').vms[0]!;
  t.match(infos[0], { id, os: 'linux', protocol: 'ssh', username: USER, password: PASSWORD, internalAddr: vm.privateIp, externalAddr: vm.publicIp });
  const client = await sshConnect(connectConfigOf(infos[4]!));
  t.teardown(() => client.end());
  t.equal((await sshExec(client, 'echo ok')).stdout, 'ok\n');
  (await sshConnect({ ...connectConfigOf(infos[4]!), host: infos[4]!.externalAddr })).end();
  await group.heartbeat(id!);
  await t.rejects(group.connectInfo('runners_99'), { code: 'instance_not_found' });
  await t.rejects(group.heartbeat('runners_99'), { code: 'instance_not_found' });
  await t.rejects(sshConnect({ ...connectConfigOf(infos[4]!), password: 'guess' }), /authentication/i, 'only the scale set password');
});

t.test('keys as static credentials; no credentials at all is a clear error; no public address is fine', async (t) => {
  const kp = generateEd25519('ci');
  const s = await standin(t, N + 2, { scaleSets: [scaleSet('runners', { quota: 2, adminPassword: undefined, publicKeys: [kp.publicKey], publicIp: false })] });
  const group = await azureGroup(t, s, { connector: { password: '', key: new TextEncoder().encode(kp.privateKey) } });
  const [id] = await runningInstances(group, 1);
  const info = await group.connectInfo(id!);
  t.equal(info.externalAddr, '', 'no public address (MR !3 upstream)');
  t.equal(callsOf(s, 'network:publicIPAddresses.getVirtualMachineScaleSetPublicIPAddress'), 0);
  const client = await sshConnect(connectConfigOf(info));
  t.teardown(() => client.end());
  t.equal((await sshExec(client, 'echo key')).stdout, 'key\n');
  const bare = await azureGroup(t, s, { connector: { password: '', useStaticCredentials: false } });
  await t.rejects(bare.connectInfo(id!), { code: 'invalid_argument', message: /provisions no credentials; set connector_config\.use_static_credentials = true/ });
});

t.test('decrease: one call for many, unknown names cost no call, deleting twice is accepted, a VM gone meanwhile is reported', async (t) => {
  const s = await standin(t, N + 3, { scaleSets: [scaleSet('runners', { quota: 4 })] });
  const group = await azureGroup(t, s);
  const [a, b, c, d] = await runningInstances(group, 4);
  const res = await group.decrease([a!, b!, 'runners_nope']);
  t.same(res.succeeded.sort(), [a, b].sort());
  t.match(res.error, { code: 'instance_not_found', message: /runners_nope: not an instance of scale set "runners"/ });
  t.equal(callsOf(s, 'compute:virtualMachineScaleSets.deleteInstances'), 1, 'one call for both');
  t.same((await group.decrease([a!])).succeeded, [a], 'deleting again is accepted');
  t.equal(callsOf(s, 'compute:virtualMachineScaleSets.deleteInstances'), 1, '… without a call');
  t.equal(s.cloud.scaleSet(RG, 'runners').capacity, 2, 'capacity shrinks with the deletions');
  // Deleted behind the plugin's back: the batch is refused and each id is tried on its own.
  s.cloud.deleteOutOfBand(RG, 'runners', c!.split('_')[1]!);
  const partial = await group.decrease([c!, d!]);
  t.same(partial.succeeded, [d]);
  t.match(partial.error, { code: 'instance_not_found', message: new RegExp(`${c}: .*not an active Virtual Machine Scale Set VM instanceId`) });
  await untilUpdate(group, (l) => l.every((i) => i.state === 'deleted' || i.state === 'deleting') && s.cloud.scaleSet(RG, 'runners').vms.length === 0, 'all gone');
});

t.test('init: a missing scale set, a Flexible one, bad credentials and bad config name the key', async (t) => {
  const s = await standin(t, N + 4, { scaleSets: [scaleSet('runners'), scaleSet('flex', { orchestrationMode: 'Flexible' })] });
  const init = (cfg: Record<string, unknown>, options = {}) => new AzureInstanceGroup(groupOptions(s, options)).init({ pluginConfig: pluginConfig(s, cfg), connector: defaultConnectorConfig(staticConnector()) });
  await t.rejects(init({ name: 'nope' }), { code: 'not_found', message: new RegExp(`^initializing: plugin_config\\.name: scale set "nope" not found in resource group ${RG} of subscription ${s.subscriptionId}$`) });
  await t.rejects(init({ name: 'flex' }), { code: 'invalid_argument', message: /plugin_config\.name: scale set "flex" uses Flexible orchestration; only Uniform scale sets are supported/ });
  await t.rejects(init({ resource_group_name: 'other-rg' }), { code: 'not_found', message: /plugin_config\.name: scale set "runners" not found in resource group other-rg/ });
  await t.rejects(init({ subscription_id: 'not-a-guid' }), { code: 'invalid_argument', message: /plugin_config\.subscription_id: expected a subscription ID/ });
  const saved = process.env.AZURE_CLIENT_SECRET;
  process.env.AZURE_CLIENT_SECRET = 'wrong';
  t.teardown(() => void (process.env.AZURE_CLIENT_SECRET = saved));
  await t.rejects(init({}), { code: 'auth_failed', message: /AADSTS7000215: Invalid client secret provided.*\(credentials from the environment \(AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET/s });
  process.env.AZURE_CLIENT_SECRET = saved;
});
