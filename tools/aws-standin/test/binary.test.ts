import { fileURLToPath } from 'node:url';
import { DescribeAutoScalingGroupsCommand, SetDesiredCapacityCommand } from '@aws-sdk/client-auto-scaling';
import t from 'tap';
import { refusedCommandLine, refuses, spawnStandin } from '@fleetrunner/standin-kit';
import { waitFor } from '@fleetrunner/testing';
import { SSH_PORT, subnets } from './harness.js';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';

const BIN = fileURLToPath(new URL('../../bin/aws-standin.js', import.meta.url));

t.test('aws-standin prints its endpoint, serves the SDK, and removes every instance on SIGTERM', async (t) => {
  const n = subnets(3);
  const child = await spawnStandin(t, BIN, ['--group', 'ci,max=2', '--subnet', n.subnet!, '--public-subnet', n.publicSubnet!, '--machine-subnet', n.machineSubnet!, '--ssh-port', String(SSH_PORT), '--log-level', 'warn']);
  const endpoint = child.endpoint;
  t.match(endpoint, /^http:\/\/\S+$/);
  const asg = new AutoScalingClient({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 'AKID', secretAccessKey: 'x' } });
  await asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: 'ci', DesiredCapacity: 2 }));
  await waitFor(async () => (await asg.send(new DescribeAutoScalingGroupsCommand({}))).AutoScalingGroups![0]!.Instances!.filter((i) => i.LifecycleState === 'InService').length === 2, {
    what: 'two instances in service',
  });
  const state = (await (await fetch(`${endpoint}/_standin/state`)).json()) as { groups: { instances: { privateIp: string }[] }[] };
  const ips = state.groups[0]!.instances.map((i) => i.privateIp);
  t.equal(await child.terminate(), 0, 'a clean exit');
  for (const ip of ips) t.ok(await refuses(`http://${ip}:${SSH_PORT}`), `${ip} no longer answers`);
  t.equal(child.stderr(), '', 'nothing logged at warn or above');
});

t.test('a bad command line exits 2 with the usage', async (t) => {
  const { code, stderr } = await refusedCommandLine(BIN, ['--group', 'x,colour=red']);
  t.equal(code, 2);
  t.match(stderr, /unknown setting "colour=red"[\s\S]*Usage: aws-standin/);
});
