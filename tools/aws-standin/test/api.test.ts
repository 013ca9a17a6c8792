import { DescribeAutoScalingGroupsCommand, DescribeAutoScalingInstancesCommand, SetDesiredCapacityCommand, TerminateInstanceInAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeInstancesCommand, GetPasswordDataCommand } from '@aws-sdk/client-ec2';
import { SendSSHPublicKeyCommand } from '@aws-sdk/client-ec2-instance-connect';
import t from 'tap';
import { generateEd25519, sshConnect, sshExec, waitFor } from '@fleetrunner/testing';
import { SSH_PORT, ShiftedClock, clients, sdkError, standin } from './harness.js';

const N = 1;

t.test('Auto Scaling: groups, desired capacity, lifecycle and termination through the real SDK client', async (t) => {
  const s = await standin(t, N, { groups: [{ name: 'runners', maxSize: 2, bootDelayMs: 300 }] });
  const { asg, ec2 } = clients(s);
  const describe = async () => (await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['runners'] }))).AutoScalingGroups![0]!;
  const g = await describe();
  t.match(g, { AutoScalingGroupName: 'runners', MinSize: 0, MaxSize: 2, DesiredCapacity: 0, NewInstancesProtectedFromScaleIn: true, Instances: [] });
  t.same(g.SuspendedProcesses?.map((p) => p.ProcessName), ['AZRebalance']);
  t.same((await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['nope'] }))).AutoScalingGroups, [], 'unknown names are left out');

  t.match(await sdkError(asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: 'runners', DesiredCapacity: 3 }))), {
    name: 'ValidationError',
    status: 400,
    message: /above max value 2/,
  });
  t.match(await sdkError(asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: 'nope', DesiredCapacity: 1 }))), { name: 'ValidationError', message: /not found/ });
  await asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: 'runners', DesiredCapacity: 1 }));
  const pending = await waitFor(async () => (await describe()).Instances?.[0], { what: 'an instance to launch' });
  t.match(pending, { LifecycleState: 'Pending', HealthStatus: 'Healthy', ProtectedFromScaleIn: true, AvailabilityZone: 'us-east-1a' });
  const up = await waitFor(async () => s.cloud.instances.get(pending.InstanceId!)?.upAt, { what: 'the SSH server to be up' });
  const inService = await waitFor(async () => ((await describe()).Instances?.[0]?.LifecycleState === 'InService' ? Date.now() : undefined), { what: 'InService' });
  t.ok(inService - up >= 300, `boot delay kept it pending (${inService - up} ms after its SSH server was up)`);

  const d = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-id', Values: [pending.InstanceId!] }] }));
  const inst = d.Reservations![0]!.Instances![0]!;
  t.match(inst, { InstanceId: pending.InstanceId, State: { Name: 'running', Code: 16 }, PrivateIpAddress: `127.90.${N}.1`, PublicIpAddress: `127.90.${128 + N}.1`, Placement: { AvailabilityZone: 'us-east-1a' } });
  t.same(inst.Tags?.find((x) => x.Key === 'aws:autoscaling:groupName')?.Value, 'runners');
  const ai = await asg.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [pending.InstanceId!] }));
  t.match(ai.AutoScalingInstances, [{ AutoScalingGroupName: 'runners', LifecycleState: 'InService', HealthStatus: 'HEALTHY' }]);

  t.match(await sdkError(asg.send(new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: 'i-0123456789abcdef0', ShouldDecrementDesiredCapacity: true }))), {
    name: 'ValidationError',
    message: /No managed instance found/,
  });
  const term = await asg.send(new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: pending.InstanceId!, ShouldDecrementDesiredCapacity: true }));
  t.match(term.Activity, { StatusCode: 'InProgress', AutoScalingGroupName: 'runners', Description: `Terminating EC2 instance: ${pending.InstanceId}` });
  t.equal((await describe()).DesiredCapacity, 0, 'the desired capacity shrinks with it');
  await waitFor(async () => (await describe()).Instances?.length === 0, { what: 'the instance to leave the group' });
  const gone = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [pending.InstanceId!] }));
  t.match(gone.Reservations![0]!.Instances![0], { State: { Name: 'terminated', Code: 48 }, StateReason: { Code: 'Client.UserInitiatedShutdown' } });
  t.notOk(gone.Reservations![0]!.Instances![0]!.PrivateIpAddress, 'a terminated instance has no address');
  t.equal((await s.cloud.options.backend.states()).size, 0, 'its machine is gone');
});

t.test('EC2: lookups by id and filter, pagination, and the errors the SDK models', async (t) => {
  const s = await standin(t, N + 20, { groups: [{ name: 'a', maxSize: 6, desiredCapacity: 6 }, { name: 'b', maxSize: 1, desiredCapacity: 1 }] });
  const { ec2 } = clients(s);
  await waitFor(() => [...s.cloud.instances.values()].filter((i) => i.ec2State === 'running').length === 7, { what: '7 instances running', timeoutMs: 20_000 });
  const byGroup = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:aws:autoscaling:groupName', Values: ['b'] }] }));
  t.equal(byGroup.Reservations?.length, 1);
  const ids: string[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const page = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-state-name', Values: ['running'] }], MaxResults: 5, NextToken: token }));
    for (const r of page.Reservations ?? []) ids.push(...(r.Instances ?? []).map((i) => i.InstanceId!));
    token = page.NextToken;
    pages++;
  } while (token);
  t.equal(pages, 2, 'MaxResults pages through NextToken');
  t.equal(new Set(ids).size, 7);
  const cases: [string, Promise<unknown>, RegExp | string][] = [
    ['unknown id', ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] })), 'InvalidInstanceID.NotFound'],
    ['malformed id', ec2.send(new DescribeInstancesCommand({ InstanceIds: ['web-1'] })), 'InvalidInstanceID.Malformed'],
    ['unknown filter', ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'owner', Values: ['x'] }] })), 'InvalidParameterValue'],
    ['ids with MaxResults', ec2.send(new DescribeInstancesCommand({ InstanceIds: [ids[0]!], MaxResults: 5 })), 'InvalidParameterCombination'],
    ['password of an unknown instance', ec2.send(new GetPasswordDataCommand({ InstanceId: 'i-0123456789abcdef0' })), 'InvalidInstanceID.NotFound'],
  ];
  for (const [what, call, code] of cases) t.match(await sdkError(call), { name: code, status: 400 }, what);
});

t.test('EC2 Instance Connect: a pushed key logs its user in for 60 seconds; the SSH server is real', async (t) => {
  const clock = new ShiftedClock();
  const s = await standin(t, N + 40, { clock, groups: [{ name: 'runners', maxSize: 1, desiredCapacity: 1 }] });
  const { connect } = clients(s);
  const inst = await waitFor(() => [...s.cloud.instances.values()].find((i) => i.ec2State === 'running'), { what: 'a running instance' });
  const key = generateEd25519('test');
  const push = (over: Record<string, string> = {}) =>
    connect.send(new SendSSHPublicKeyCommand({ InstanceId: inst.id, InstanceOSUser: 'ec2-user', SSHPublicKey: key.publicKey, AvailabilityZone: inst.availabilityZone, ...over }));
  const login = (user = 'ec2-user', host = inst.privateIp) => sshConnect({ host, port: SSH_PORT, username: user, privateKey: key.privateKey, readyTimeout: 10_000 });

  await t.rejects(login(), /authentication/i, 'no key pushed: no login');
  t.match(await push(), { Success: true });
  const client = await login();
  t.teardown(() => client.end());
  const r = await sshExec(client, 'echo "$USER:$((6*7))"; echo oops >&2; exit 3');
  t.match(r, { stdout: /:42\n$/, stderr: 'oops\n', code: 3 }, 'output, stderr and exit status pass through');
  const pub = await login('ec2-user', inst.publicIp);
  pub.end();
  await t.rejects(login('ubuntu'), /authentication/i, 'the key is only for the user it was pushed for');

  clock.offset += 61_000;
  await t.rejects(login(), /authentication/i, 'the key expires after 60 s');
  t.equal((await sshExec(client, 'echo still')).stdout, 'still\n', 'an open connection outlives the key');

  const cases: [string, Record<string, string>, string, number][] = [
    ['unknown instance', { InstanceId: 'i-0123456789abcdef0' }, 'EC2InstanceNotFoundException', 404],
    ['wrong zone', { AvailabilityZone: 'eu-west-1a' }, 'InvalidArgsException', 400],
    ['bad user', { InstanceOSUser: '-x' }, 'InvalidArgsException', 400],
    ['bad key', { SSHPublicKey: `ssh-ed25519 ${'A'.repeat(90)}` }, 'InvalidArgsException', 400],
  ];
  for (const [what, over, name, status] of cases) t.match(await sdkError(push(over)), { name, status }, what);

  s.cloud.terminateOutOfBand(inst.id);
  const closed = await waitFor(() => new Promise<boolean>((resolve) => client.exec('true', (err) => resolve(Boolean(err)))), { what: 'the connection to drop' });
  t.ok(closed, 'terminating the instance drops its connections');
  t.match(await sdkError(push()), { name: /EC2InstanceNotFoundException|EC2InstanceStateInvalidException/ });
});
