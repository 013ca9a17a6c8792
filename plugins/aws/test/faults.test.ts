import t from 'tap';
import { FAST_RETRY, awsGroup, callsOf, runningInstances, standin } from './harness.js';

const N = 70;

t.test('a throttling storm shorter than the retry budget is ridden out: every call succeeds, with backoff', async (t) => {
  const s = await standin(t, N, { groups: [{ name: 'runners', maxSize: 2 }] });
  const group = await awsGroup(t, s);
  const [id] = await runningInstances(group, 1);
  // Every service throttles its next calls: Auto Scaling (Throttling), EC2 (RequestLimitExceeded, HTTP 503) and
  // Instance Connect (ThrottlingException, HTTP 429).
  s.faults.addThrottle({ count: FAST_RETRY.throttledAttempts - 1 });
  t.match(await group.update(), [{ id, state: 'running' }]);
  s.faults.addThrottle({ count: FAST_RETRY.throttledAttempts - 1, actions: ['ec2:*'] });
  t.match(await group.update(), [{ id, state: 'running' }]);
  s.faults.addThrottle({ count: FAST_RETRY.throttledAttempts - 1, actions: ['ec2-instance-connect:*'] });
  t.equal((await group.connectInfo(id!)).id, id);
  s.faults.addThrottle({ count: 2, actions: ['SetDesiredCapacity'] });
  t.same(await group.increase(1), { succeeded: 1 });
  t.equal(s.faults.throttled, 3 * (FAST_RETRY.throttledAttempts - 1) + 2, 'every throttled call was retried');
});

t.test('a storm longer than the retry budget gives clear errors, partial results, and the group recovers', async (t) => {
  const s = await standin(t, N + 1, { groups: [{ name: 'runners', maxSize: 3 }] });
  const group = await awsGroup(t, s);
  const [a, b] = await runningInstances(group, 2);
  s.faults.addThrottle({ every: 1 });
  await t.rejects(group.update(), { code: 'unavailable', message: /^describing auto scaling group: Throttling: Rate exceeded \(after 5 attempts\)$/ });
  const inc = await group.increase(1);
  t.equal(inc.succeeded, 0);
  t.match(inc.error, { code: 'unavailable', message: /^increasing by 1: describing auto scaling group: Throttling/ }, 'increase reports, does not throw');
  await t.rejects(group.connectInfo(a!), { code: 'unavailable', message: /sending ssh key to .*ThrottlingException/ });
  s.faults.clear();

  // Every other TerminateInstanceInAutoScalingGroup fails for good: one of two deletions is accepted.
  s.faults.addThrottle({ every: 2, actions: ['TerminateInstanceInAutoScalingGroup'] });
  const before = callsOf(s, 'TerminateInstanceInAutoScalingGroup');
  const policyAttempts = FAST_RETRY.throttledAttempts;
  const dec = await group.decrease([a!, b!]);
  t.equal(dec.succeeded.length, 2, 'a throttled deletion is retried until it goes through');
  t.ok(callsOf(s, 'TerminateInstanceInAutoScalingGroup') - before <= 2 * policyAttempts);
  s.faults.clear();

  t.ok((await group.update()).every((i) => i.state === 'deleting' || i.state === 'deleted'), 'after the storm, update works again');
  t.equal(s.cloud.groups.get('runners')!.desiredCapacity, 0, 'no capacity was requested twice or leaked');
});
