import t from 'tap';
import { resizeFailure } from '@fleetrunner/gce-standin';
import { FAST_RETRY, ZONE, callsOf, gceGroup, runningInstances, standin, untilUpdate } from './harness.js';

const N = 20;

t.test('a throttling storm shorter than the retry budget is ridden out: every call succeeds, with back-off', async (t) => {
  const s = await standin(t, N, { groups: [{ name: 'runners', quota: 2 }] });
  const group = await gceGroup(t, s);
  const [id] = await runningInstances(group, 1);
  s.faults.addThrottle({ count: FAST_RETRY.throttledAttempts - 1 });
  t.match(await group.update(), [{ id, state: 'running' }]);
  s.faults.addThrottle({ count: FAST_RETRY.transientAttempts - 1, status: 503, actions: ['instances.get'] });
  t.equal((await group.connectInfo(id!)).id, id, '503 backendError is retried as well');
  s.faults.addThrottle({ count: 2, actions: ['instanceGroupManagers.resize', 'zoneOperations.wait'] });
  t.same(await group.increase(1), { succeeded: 1 });
  t.equal(s.faults.throttled, FAST_RETRY.throttledAttempts - 1 + FAST_RETRY.transientAttempts - 1 + 2, 'every throttled call was retried');
  t.equal(s.cloud.groups.get(`${ZONE}/runners`)!.targetSize, 2, 'no capacity asked for twice');
});

t.test('a storm longer than the retry budget gives clear errors and partial results; the group recovers', async (t) => {
  const s = await standin(t, N + 1, { groups: [{ name: 'runners', quota: 3 }] });
  const group = await gceGroup(t, s);
  const [a, b] = await runningInstances(group, 2);
  s.faults.addThrottle({ every: 1 });
  await t.rejects(group.update(), { code: 'unavailable', message: /^listing managed instances: 429 rateLimitExceeded: Quota exceeded for quota metric .* \(after 5 attempts\)$/ });
  const inc = await group.increase(1);
  t.equal(inc.succeeded, 0);
  t.match(inc.error, { code: 'unavailable', message: /^increasing by 1: getting instance group: 429 rateLimitExceeded/ }, 'increase reports, does not throw');
  const dec = await group.decrease([a!]);
  t.same(dec.succeeded, []);
  t.match(dec.error, { code: 'unavailable', message: new RegExp(`decreasing: ${a}: deleting ${a}: 429`) });
  s.faults.clear();
  t.same((await group.decrease([a!, b!])).succeeded.sort(), [a, b].sort(), 'after the storm the same call goes through');
  await untilUpdate(group, (l) => l.every((i) => i.state === 'deleted' || i.state === 'deleting'), 'both on their way out');
  t.equal(s.cloud.groups.get(`${ZONE}/runners`)!.targetSize, 0, 'nothing leaked');
});

t.test('Retry-After is honoured', async (t) => {
  const s = await standin(t, N + 2, { groups: [{ name: 'runners' }] });
  const group = await gceGroup(t, s);
  s.faults.addThrottle({ count: 1, retryAfterSeconds: 1, actions: ['instanceGroupManagers.listManagedInstances'] });
  const started = Date.now();
  await group.update();
  t.ok(Date.now() - started >= 950, `waited ${Date.now() - started} ms after a Retry-After of 1 s`);
});

t.test('a failed resize operation fails the increase; quota exceeded instances are given up; deleted out of band is noticed', async (t) => {
  const s = await standin(t, N + 3, { groups: [{ name: 'runners', quota: 2 }] });
  const group = await gceGroup(t, s);
  s.cloud.failResizes.push(resizeFailure());
  const failed = await group.increase(1);
  t.equal(failed.succeeded, 0);
  t.match(failed.error, { code: 'unavailable', message: /^increasing by 1: resizing to 1: operation operation-\S+ failed: ZONE_RESOURCE_POOL_EXHAUSTED: The zone does not have enough resources/ });
  t.equal(s.cloud.groups.get(`${ZONE}/runners`)!.targetSize, 0, 'the target size did not change');

  // Two fit into the quota; the third stays CREATING with QUOTA_EXCEEDED, which the plugin reports as broken.
  t.same(await group.increase(3), { succeeded: 3 });
  const list = await untilUpdate(group, (l) => l.filter((i) => i.state === 'running').length === 2 && l.some((i) => i.state === 'timeout'), 'two running, one over quota');
  const over = list.find((i) => i.state === 'timeout')!.id;
  t.match(s.cloud.instances.get(`${ZONE}/${over}`), { currentAction: 'CREATING', lastAttemptError: { code: 'QUOTA_EXCEEDED' } });
  t.same((await group.decrease([over])).succeeded, [over], 'the host can delete it');
  await untilUpdate(group, (l) => !l.some((i) => i.id === over && i.state !== 'deleted'), 'the one over quota gone');

  const [victim] = list.filter((i) => i.state === 'running').map((i) => i.id);
  s.cloud.deleteOutOfBand(ZONE, victim!);
  t.match((await group.update()).find((i) => i.id === victim), { state: 'timeout' }, 'RECREATING is reported broken at once');
  await t.rejects(group.heartbeat(victim!), { code: 'instance_unhealthy' });
  await untilUpdate(group, () => s.cloud.instances.get(`${ZONE}/${victim}`)?.currentAction === 'NONE', 'the group to finish recreating it');
  t.match((await group.update()).find((i) => i.id === victim), { state: 'timeout' }, 'a recreated VM (new id) is not the instance the host knew');
  t.same((await group.decrease([victim!])).succeeded, [victim]);
});

t.test('slow boots, operations that finish later, waits that return early, and paginated listings', async (t) => {
  const s = await standin(t, N + 4, {
    groups: [{ name: 'runners', quota: 5, bootDelayMs: 400, listManagedInstancesResults: 'PAGINATED' }],
    operationDelayMs: 300,
    waitMs: 100,
  });
  const group = await gceGroup(t, s, { options: { pageSize: 2 } });
  const waits = callsOf(s, 'zoneOperations.wait');
  const started = Date.now();
  t.same(await group.increase(5), { succeeded: 5 });
  const increased = Date.now();
  t.ok(increased - started >= 300, `the increase waited for its operation (${increased - started} ms)`);
  t.ok(callsOf(s, 'zoneOperations.wait') - waits >= 2, 'wait returned RUNNING and was called again');
  const seen = new Set<string>();
  const list = await untilUpdate(group, (l) => {
    for (const i of l) if (i.state === 'creating') seen.add(i.id);
    return l.filter((i) => i.state === 'running').length === 5;
  }, 'five running');
  t.equal(list.length, 5);
  t.equal(seen.size, 5, 'each was creating first');
  const pages = callsOf(s, 'instanceGroupManagers.listManagedInstances');
  await group.update();
  t.equal(callsOf(s, 'instanceGroupManagers.listManagedInstances') - pages, 3, 'five instances in pages of two: three calls');
  for (const i of list) t.ok(s.cloud.instances.get(`${ZONE}/${i.id}`)!.upAt! + 400 <= Date.now(), 'running only after the boot delay');
  t.same((await group.decrease(list.map((i) => i.id))).succeeded.length, 5);
});
