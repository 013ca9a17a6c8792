import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { DescribeAutoScalingGroupsCommand, SetDesiredCapacityCommand } from '@aws-sdk/client-auto-scaling';
import t from 'tap';
import { waitFor } from '@fleetrunner/testing';
import { SSH_PORT, subnets } from './harness.js';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';

const BIN = fileURLToPath(new URL('../../bin/aws-standin.js', import.meta.url));

t.test('aws-standin prints its endpoint, serves the SDK, and removes every instance on SIGTERM', async (t) => {
  const n = subnets(3);
  const child = spawn(process.execPath, [BIN, '--group', 'ci,max=2', '--subnet', n.subnet!, '--public-subnet', n.publicSubnet!, '--machine-subnet', n.machineSubnet!, '--ssh-port', String(SSH_PORT), '--log-level', 'warn'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const endpoint = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const m = /^endpoint=(http:\/\/\S+)$/.exec(line);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${stderr}`)));
  });
  const asg = new AutoScalingClient({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 'AKID', secretAccessKey: 'x' } });
  await asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: 'ci', DesiredCapacity: 2 }));
  await waitFor(async () => (await asg.send(new DescribeAutoScalingGroupsCommand({}))).AutoScalingGroups![0]!.Instances!.filter((i) => i.LifecycleState === 'InService').length === 2, {
    what: 'two instances in service',
  });
  const state = (await (await fetch(`${endpoint}/_standin/state`)).json()) as { groups: { instances: { privateIp: string }[] }[] };
  const ips = state.groups[0]!.instances.map((i) => i.privateIp);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  t.equal(await exited, 0, 'a clean exit');
  for (const ip of ips) {
    const refused = await fetch(`http://${ip}:${SSH_PORT}`).then(
      () => false,
      () => true,
    );
    t.ok(refused, `${ip} no longer answers`);
  }
  t.equal(stderr, '', 'nothing logged at warn or above');
});

t.test('a bad command line exits 2 with the usage', async (t) => {
  const child = spawn(process.execPath, [BIN, '--group', 'x,colour=red'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  t.equal(code, 2);
  t.match(err, /unknown setting "colour=red"[\s\S]*Usage: aws-standin/);
});
