import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { SendSSHPublicKeyCommand } from '@aws-sdk/client-ec2-instance-connect';
import t from 'tap';
import { clients, sdkError, standin } from './harness.js';

const N = 2;

t.test('credentials: unsigned, unknown, mis-signed and wrong-region calls get each protocol’s auth error', async (t) => {
  const s = await standin(t, N, { groups: [{ name: 'g' }], credentials: [{ accessKeyId: 'AKIDGOOD', secretAccessKey: 'right' }] });
  const good = clients(s, { accessKeyId: 'AKIDGOOD', secretAccessKey: 'right' });
  t.equal((await good.asg.send(new DescribeAutoScalingGroupsCommand({}))).AutoScalingGroups?.length, 1, 'the right secret signs correctly');
  await good.ec2.send(new DescribeInstancesCommand({}));

  const unknown = clients(s, { accessKeyId: 'AKIDOTHER', secretAccessKey: 'right' });
  const wrongSecret = clients(s, { accessKeyId: 'AKIDGOOD', secretAccessKey: 'wrong' });
  const push = new SendSSHPublicKeyCommand({ InstanceId: 'i-0123456789abcdef0', InstanceOSUser: 'ec2-user', SSHPublicKey: 'x'.repeat(100) });
  const cases: [string, Promise<unknown>, string, number][] = [
    ['unknown key, Auto Scaling', unknown.asg.send(new DescribeAutoScalingGroupsCommand({})), 'InvalidClientTokenId', 403],
    ['unknown key, EC2', unknown.ec2.send(new DescribeInstancesCommand({})), 'AuthFailure', 401],
    ['unknown key, Instance Connect', unknown.connect.send(push), 'UnrecognizedClientException', 403],
    ['wrong secret, Auto Scaling', wrongSecret.asg.send(new DescribeAutoScalingGroupsCommand({})), 'SignatureDoesNotMatch', 403],
    ['wrong secret, EC2', wrongSecret.ec2.send(new DescribeInstancesCommand({})), 'SignatureDoesNotMatch', 403],
    ['wrong secret, Instance Connect', wrongSecret.connect.send(push), 'InvalidSignatureException', 403],
  ];
  for (const [what, call, name, status] of cases) t.match(await sdkError(call), { name, status }, what);

  const { AutoScalingClient } = await import('@aws-sdk/client-auto-scaling');
  const otherRegion = new AutoScalingClient({ region: 'eu-west-1', endpoint: s.endpoint, credentials: { accessKeyId: 'AKIDGOOD', secretAccessKey: 'right' }, maxAttempts: 1 });
  t.match(await sdkError(otherRegion.send(new DescribeAutoScalingGroupsCommand({}))), { name: 'SignatureDoesNotMatch', message: /not 'eu-west-1'/ }, 'the endpoint serves one region');

  const unsigned = await fetch(s.endpoint, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'Action=DescribeAutoScalingGroups&Version=2011-01-01' });
  t.equal(unsigned.status, 403);
  t.match(await unsigned.text(), /<Code>MissingAuthenticationToken<\/Code>/, 'an unsigned call is refused');
});

t.test('throttling: storms and every-Nth rules answer with each service’s throttling error', async (t) => {
  const s = await standin(t, N + 20, { groups: [{ name: 'g' }], throttle: [{ count: 2, actions: ['autoscaling:*'] }] });
  const { asg, ec2, connect } = clients(s);
  const describe = () => asg.send(new DescribeAutoScalingGroupsCommand({}));
  t.match(await sdkError(describe()), { name: 'Throttling', status: 400, message: 'Rate exceeded' });
  t.match(await sdkError(describe()), { name: 'Throttling' });
  await describe();
  t.pass('the storm is over after 2 calls');

  s.faults.addThrottle({ every: 2, actions: ['DescribeInstances'] });
  await ec2.send(new DescribeInstancesCommand({}));
  t.match(await sdkError(ec2.send(new DescribeInstancesCommand({}))), { name: 'RequestLimitExceeded', status: 503 });
  await ec2.send(new DescribeInstancesCommand({}));
  s.faults.clear();

  s.faults.addThrottle({ count: 1, actions: ['ec2-instance-connect:SendSSHPublicKey'] });
  const push = new SendSSHPublicKeyCommand({ InstanceId: 'i-0123456789abcdef0', InstanceOSUser: 'ec2-user', SSHPublicKey: 'x'.repeat(100) });
  t.match(await sdkError(connect.send(push)), { name: 'ThrottlingException', status: 429 });
  t.match(await sdkError(connect.send(push)), { name: 'InvalidArgsException' }, 'then the call itself is judged');
  t.equal(s.faults.throttled, 4);

  const control = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${s.endpoint}/_standin/${path}`, { method, ...(body ? { body: JSON.stringify(body) } : {}) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  t.match(await control('POST', 'throttle', { count: 1 }), { status: 200 });
  t.match(await sdkError(describe()), { name: 'Throttling' }, 'the control endpoint starts a storm');
  t.match(await control('POST', 'throttle', { count: 1, every: 2 }), { status: 400, body: { error: /exactly one/ } });
  t.match(await control('POST', 'instances/i-0123456789abcdef0/terminate'), { status: 404 });
  t.match(await control('POST', 'groups', { name: 'h', maxSize: '3' }), { status: 400, body: { error: /maxSize must be a non-negative integer/ } });
  t.match(await control('POST', 'groups', { name: 'h', maxSize: 3, desiredCapacity: 1 }), { status: 200, body: { name: 'h' } });
  t.match(await control('GET', 'state'), { status: 200, body: { region: 'us-east-1', groups: [{ name: 'g', maxSize: 10 }, { name: 'h', desiredCapacity: 1 }], throttled: 5 } });
});
