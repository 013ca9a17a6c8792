import t from 'tap';
import { sshConnect, sshExec, waitFor } from '@fleetrunner/testing';
import { FAST_POLL, SSH_PORT, clients, credentialOf, standin } from './harness.js';

const RG = 'fleetrunner-test';

async function sdkError(p: Promise<unknown>): Promise<{ code: string; statusCode: number | undefined; message: string; retryAfter: string | undefined }> {
  try {
    await p;
  } catch (err) {
    const e = err as Error & { code?: string; statusCode?: number; details?: { error?: { message?: string } }; response?: { headers: { get(k: string): string | undefined } } };
    // Paged calls reject with "Pagination failed with unexpected statusCode N": ARM's message is in the details.
    return { code: e.code ?? '', statusCode: e.statusCode, message: e.details?.error?.message ?? e.message, retryAfter: e.response?.headers.get('retry-after') };
  }
  throw new Error('the call succeeded');
}

t.test('scale out, list with instance view, NICs and public addresses, log in with the password, delete instances: the real SDK', async (t) => {
  const s = await standin(t, 50, { scaleSets: [{ name: 'runners', quota: 3, adminUsername: 'runner', adminPassword: 'pa55-Word' }] });
  const { compute, network } = clients(s);
  const ss = await compute.virtualMachineScaleSets.get(RG, 'runners');
  t.match(ss, { name: 'runners', sku: { capacity: 0 }, orchestrationMode: 'Uniform', overprovision: false, virtualMachineProfile: { osProfile: { adminUsername: 'runner' } } });
  const updated = await compute.virtualMachineScaleSets.update(RG, 'runners', { sku: { capacity: 2 } }, FAST_POLL);
  t.equal(updated.sku?.capacity, 2, 'the poller ends with the resource');
  const vms = await waitFor(async () => {
    const list = [];
    for await (const vm of compute.virtualMachineScaleSetVMs.list(RG, 'runners', { expand: 'instanceView' })) list.push(vm);
    return list.length === 2 && list.every((v) => v.instanceView?.statuses?.some((x) => x.code === 'PowerState/running')) ? list : undefined;
  }, { what: 'two VMs running' });
  t.same(vms.map((v) => v.instanceId), ['0', '1']);
  t.match(vms[0], { name: 'runners_0', provisioningState: 'Succeeded', storageProfile: { osDisk: { osType: 'Linux' } } });
  const nics = [];
  for await (const n of network.networkInterfaces.listVirtualMachineScaleSetVMNetworkInterfaces(RG, 'runners', '0')) nics.push(n);
  const cfg = nics[0]!.ipConfigurations![0]!;
  t.match(cfg.privateIPAddress, /^127\.89\.50\.\d+$/);
  const pipId = cfg.publicIPAddress!.id!;
  const p = /virtualMachines\/([^/]+)\/networkInterfaces\/([^/]+)\/ipConfigurations\/([^/]+)\/publicIPAddresses\/([^/]+)$/.exec(pipId)!;
  const pip = await network.publicIPAddresses.getVirtualMachineScaleSetPublicIPAddress(RG, 'runners', p[1]!, p[2]!, p[3]!, p[4]!);
  t.match(pip.ipAddress, /^127\.89\.114\.\d+$/);
  const all = [];
  for await (const x of network.publicIPAddresses.listVirtualMachineScaleSetPublicIPAddresses(RG, 'runners')) all.push(x);
  t.equal(all.length, 2);

  const login = { host: cfg.privateIPAddress!, port: SSH_PORT, username: 'runner', password: 'pa55-Word' };
  const client = await sshConnect(login);
  t.teardown(() => client.end());
  t.equal((await sshExec(client, 'echo ok')).stdout, 'ok\n');
  (await sshConnect({ ...login, host: pip.ipAddress! })).end();
  await t.rejects(sshConnect({ ...login, password: 'wrong' }), /authentication/i, 'a wrong password is refused');
  await t.rejects(sshConnect({ ...login, username: 'root' }), /authentication/i, 'only the admin user');

  await compute.virtualMachineScaleSets.deleteInstances(RG, 'runners', { instanceIds: ['0'] }, FAST_POLL);
  t.equal((await compute.virtualMachineScaleSets.get(RG, 'runners')).sku?.capacity, 1, 'capacity shrinks with the deletion');
  const bad = await sdkError(compute.virtualMachineScaleSets.deleteInstances(RG, 'runners', { instanceIds: ['99'] }, FAST_POLL));
  t.match(bad, { code: 'InvalidParameter', statusCode: 400, message: /The provided instanceId 99 is not an active Virtual Machine Scale Set VM instanceId/ });
});

t.test('errors in ARM shape: missing scale set, quota, failed operation, throttling with Retry-After, bad credentials, Flexible', async (t) => {
  const s = await standin(t, 51, { scaleSets: [{ name: 'runners', quota: 2 }, { name: 'flex', orchestrationMode: 'Flexible' }] });
  const { compute } = clients(s);
  t.match(await sdkError(compute.virtualMachineScaleSets.get(RG, 'nope')), { code: 'ResourceNotFound', statusCode: 404, message: /The Resource 'Microsoft.Compute\/virtualMachineScaleSets\/nope' under resource group 'fleetrunner-test' was not found/ });
  t.match(await sdkError(compute.virtualMachineScaleSets.update(RG, 'runners', { sku: { capacity: 3 } }, FAST_POLL)), { code: 'OperationNotAllowed', statusCode: 409, message: /exceeding approved Total Regional Cores quota/ });
  s.cloud.failOperations.push({ code: 'AllocationFailed', message: 'Allocation failed.' });
  t.match(await sdkError(compute.virtualMachineScaleSets.update(RG, 'runners', { sku: { capacity: 1 } }, FAST_POLL)), { message: /The long-running operation has failed.*AllocationFailed.*Allocation failed/ });
  t.equal(s.cloud.scaleSet(RG, 'runners').capacity, 0, 'a failed operation leaves the capacity');
  s.faults.addThrottle({ count: 1, retryAfterSeconds: 7 });
  t.match(await sdkError(compute.virtualMachineScaleSets.get(RG, 'runners')), { code: 'TooManyRequests', statusCode: 429, retryAfter: '7' });
  s.faults.addThrottle({ count: 1, status: 503 });
  t.match(await sdkError(compute.virtualMachineScaleSets.get(RG, 'runners')), { code: 'ServiceUnavailable', statusCode: 503 });
  const list = async () => {
    for await (const _ of compute.virtualMachineScaleSetVMs.list(RG, 'flex')) void _;
  };
  // The paged list keeps ARM's code but not its message (the SDK's own "Pagination failed with unexpected statusCode").
  t.match(await sdkError(list()), { code: 'OperationNotAllowed', statusCode: 409 });
  const raw = await compute.virtualMachineScaleSetVMs.list(RG, 'flex').byPage().next().catch((e: unknown) => e);
  t.ok(raw instanceof Error);
  t.match(await sdkError(compute.virtualMachineScaleSetVMs.getInstanceView(RG, 'flex', '0')), { code: 'OperationNotAllowed', message: /Operation 'VirtualMachineScaleSets.virtualMachines.GET' is not allowed on Virtual Machine Scale Set 'flex'/ });
  const wrong = clients(s, credentialOf(s, 'not-the-secret')).compute;
  t.match(await sdkError(wrong.virtualMachineScaleSets.get(RG, 'runners')), { message: /AADSTS7000215: Invalid client secret provided/ });
  const res = await fetch(`${s.endpoint}/subscriptions/${s.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachineScaleSets/runners?api-version=2026-03-01`).catch((e: unknown) => e);
  t.ok(res instanceof Error, 'plain fetch does not trust the CA (TLS is real)');
});
