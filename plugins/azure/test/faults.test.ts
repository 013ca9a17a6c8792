import t from 'tap';
import { FAST_RETRY, RG, azureGroup, callsOf, runningInstances, scaleSet, standin, untilUpdate } from './harness.js';

const N = 20;

t.test('a throttling storm shorter than the retry budget is ridden out: every call succeeds, with back-off', async (t) => {
  const s = await standin(t, N, { scaleSets: [scaleSet('runners', { quota: 2 })] });
  const group = await azureGroup(t, s);
  const [id] = await runningInstances(group, 1);
  s.faults.addThrottle({ count: FAST_RETRY.throttledAttempts - 1, retryAfterSeconds: 0 });
  t.match(await group.update(), [{ id, state: 'running' }]);
  s.faults.addThrottle({ count: FAST_RETRY.transientAttempts - 1, status: 503, actions: ['network:*'] });
  t.equal((await group.connectInfo(id!)).id, id, '503 ServiceUnavailable is retried as well');
  s.faults.addThrottle({ count: 2, actions: ['virtualMachineScaleSets.update', 'operations.status'], retryAfterSeconds: 0 });
  t.same(await group.increase(1), { succeeded: 1 });
  t.equal(s.faults.throttled, FAST_RETRY.throttledAttempts - 1 + FAST_RETRY.transientAttempts - 1 + 2, 'every throttled call was retried');
  t.equal(s.cloud.scaleSet(RG, 'runners').capacity, 2, 'no capacity asked for twice');
});

t.test('a storm longer than the retry budget gives clear errors and partial results; the scale set recovers', async (t) => {
  const s = await standin(t, N + 1, { scaleSets: [scaleSet('runners', { quota: 3 })] });
  const group = await azureGroup(t, s);
  const [a, b] = await runningInstances(group, 2);
  s.faults.addThrottle({ every: 1, retryAfterSeconds: 0 });
  await t.rejects(group.update(), { code: 'unavailable', message: /^listing scale set VMs: 429 TooManyRequests: .*\(after 5 attempts\)$/ });
  const inc = await group.increase(1);
  t.equal(inc.succeeded, 0);
  t.match(inc.error, { code: 'unavailable', message: /^increasing by 1: getting scale set: 429 TooManyRequests: The request is being throttled/ }, 'increase reports, does not throw');
  const dec = await group.decrease([a!]);
  t.same(dec.succeeded, []);
  t.match(dec.error, { code: 'unavailable', message: new RegExp(`decreasing: ${a}: deleting instances \\d+: 429 TooManyRequests`) });
  s.faults.clear();
  t.same((await group.decrease([a!, b!])).succeeded.sort(), [a, b].sort(), 'after the storm the same call goes through');
  await untilUpdate(group, (l) => l.every((i) => i.state === 'deleted' || i.state === 'deleting'), 'both on their way out');
  t.equal(s.cloud.scaleSet(RG, 'runners').capacity, 0, 'nothing leaked');
});

t.test('Retry-After is honoured', async (t) => {
  const s = await standin(t, N + 2, { scaleSets: [scaleSet('runners')] });
  const group = await azureGroup(t, s);
  s.faults.addThrottle({ count: 1, retryAfterSeconds: 1, actions: ['virtualMachineScaleSetVMs.list'] });
  const started = Date.now();
  await group.update();
  t.ok(Date.now() - started >= 950, `waited ${Date.now() - started} ms after a Retry-After of 1 s`);
});

t.test('a failed operation and capacity beyond the quota fail the increase clearly; the capacity is unchanged', async (t) => {
  const s = await standin(t, N + 3, { scaleSets: [scaleSet('runners', { quota: 2 })] });
  const group = await azureGroup(t, s);
  s.cloud.failOperations.push({ code: 'AllocationFailed', message: 'Allocation failed. We do not have sufficient capacity for the requested VM size in this region.' });
  const failed = await group.increase(1);
  t.equal(failed.succeeded, 0);
  t.match(failed.error, { code: 'no_capacity', message: /^increasing by 1: setting capacity to 1: AllocationFailed: Allocation failed\. We do not have sufficient capacity/ });
  t.equal(s.cloud.scaleSet(RG, 'runners').capacity, 0, 'the capacity did not change');
  const over = await group.increase(3);
  t.equal(over.succeeded, 0);
  t.match(over.error, { code: 'no_capacity', message: /^increasing by 3: setting capacity to 3: 409 OperationNotAllowed: Operation could not be completed as it results in exceeding approved Total Regional Cores quota/ });
  t.equal(callsOf(s, 'compute:virtualMachineScaleSets.update'), 2, 'refusals are final, not retried');
  t.same(await group.increase(2), { succeeded: 2 }, 'within the quota it works');
});

t.test('slow provisioning stays creating; a VM deleted out of band is reported gone; a VM whose host died is given up', async (t) => {
  const s = await standin(t, N + 4, { scaleSets: [scaleSet('runners', { quota: 3, bootDelayMs: 600 })] });
  const group = await azureGroup(t, s);
  const started = Date.now();
  t.same(await group.increase(3), { succeeded: 3 });
  const seen = new Set<string>();
  const list = await untilUpdate(group, (l) => {
    for (const i of l) if (i.state === 'creating') seen.add(i.id);
    return l.filter((i) => i.state === 'running').length === 3;
  }, 'three running');
  t.equal(seen.size, 3, 'each was creating first');
  t.ok(Date.now() - started >= 600, `running only after the slow provisioning (${Date.now() - started} ms)`);
  const [a, b] = list.map((i) => i.id);
  s.cloud.deleteOutOfBand(RG, 'runners', a!.split('_')[1]!);
  const after = await group.update();
  t.match(after.find((i) => i.id === a), { state: 'deleted' }, 'gone from the list: deleted, once');
  t.notOk((await group.update()).some((i) => i.id === a), 'reported once');
  await t.rejects(group.connectInfo(a!), { code: 'instance_not_found' });
  // The machine behind b dies: Azure reports the VM stopped; the host must replace it.
  const vm = s.cloud.scaleSet(RG, 'runners').vms.find((v) => v.name === b)!;
  await s.cloud.options.backend.terminate(vm.backendId!);
  await untilUpdate(group, (l) => l.some((i) => i.id === b && i.state === 'timeout'), 'the stopped VM given up');
  await t.rejects(group.heartbeat(b!), { code: 'instance_unhealthy' });
  t.same((await group.decrease([b!])).succeeded, [b], 'the host can delete it');
});

t.test('paged VM lists are followed to the end', async (t) => {
  const s = await standin(t, N + 5, { scaleSets: [scaleSet('runners', { quota: 5 })], pageSize: 2 });
  const group = await azureGroup(t, s);
  t.same(await group.increase(5), { succeeded: 5 });
  await untilUpdate(group, (l) => l.filter((i) => i.state === 'running').length === 5, 'five running');
  const pages = callsOf(s, 'compute:virtualMachineScaleSetVMs.list');
  await group.update();
  t.equal(callsOf(s, 'compute:virtualMachineScaleSetVMs.list') - pages, 3, 'five VMs in pages of two: three calls (nextLink)');
  t.same((await group.decrease((await group.update()).map((i) => i.id))).succeeded.length, 5);
});
