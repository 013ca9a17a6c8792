// `runner exec` (the real CLI binary, its plugin host, taskscaler, connector and executor) with an aws config:
// runner → plugins/aws (a plugin process) → the AWS stand-in → real SSH servers.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import type { AwsStandin } from '@fleetrunner/aws-standin';
import { tmpDir, waitFor } from '@fleetrunner/testing';
import { AWS_ENV, SSH_PORT, callsOf, standin } from './harness.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const RUNNER = join(ROOT, 'packages', 'cli', 'bin', 'runner.js');
const PLUGIN = join(ROOT, 'plugins', 'aws', 'bin', 'plugin.js');
const N = 90;

function configToml(group: string, capacity: number, maxInstances: number, extraPluginConfig = ''): string {
  return `concurrent = 4
[[runners]]
name = "aws"
url = "http://localhost"
token = "exec-aws"
executor = "instance"
shell = "bash"
[runners.autoscaler]
plugin = ${JSON.stringify(PLUGIN)}
capacity_per_instance = ${capacity}
max_instances = ${maxInstances}
delete_instances_on_shutdown = true
update_interval = "1s"
update_interval_when_expecting = "200ms"
shutdown_deletion_interval = "200ms"
[runners.autoscaler.plugin_config]
name = ${JSON.stringify(group)}
region = "us-east-1"
${extraPluginConfig}[runners.autoscaler.connector_config]
protocol_port = ${SSH_PORT}
[runners.autoscaler.state_storage]
enabled = false
[[runners.autoscaler.policy]]
idle_count = 0
idle_time = "30s"
`;
}

interface Run {
  code: number | null;
  out: string;
}

/** Runs `runner exec`; `onOutput` sees the output as it comes. */
function runnerExec(t: Test, s: AwsStandin, args: string[], config: string, onOutput?: (all: string) => void): Promise<Run> {
  const dir = tmpDir(t, { prefix: 'aws-exec' });
  const file = join(dir, 'config.toml');
  writeFileSync(file, config);
  const child = spawn(process.execPath, [RUNNER, 'exec', '--config', file, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...AWS_ENV, AWS_ENDPOINT_URL: s.endpoint, XDG_CACHE_HOME: join(dir, 'cache') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => child.kill('SIGKILL'));
  let out = '';
  const add = (d: Buffer): void => {
    out += d.toString();
    onOutput?.(out);
  };
  child.stdout.on('data', add);
  child.stderr.on('data', add);
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, out })));
}

/** Waits until the stand-in has no instance left but terminated ones, and no machine behind them. */
async function nothingLeft(s: AwsStandin): Promise<void> {
  await waitFor(async () => [...s.cloud.instances.values()].every((i) => i.ec2State === 'terminated') && (await s.cloud.options.backend.states()).size === 0, {
    what: 'every instance terminated and its machine gone',
  });
}

t.test('the example pipeline runs green through plugins/aws and the stand-in', async (t) => {
  const s = await standin(t, N, { groups: [{ name: 'runners', maxSize: 3 }] });
  // A key of another plugin version (upstream Go plugins ignore unknown keys) must not stop the runner.
  const r = await runnerExec(t, s, ['--file', join(ROOT, 'examples', 'pipeline', '.gitlab-ci.yml')], configToml('runners', 2, 3, 'endpoint = "http://example.invalid"\n'));
  t.equal(r.code, 0, r.code === 0 ? 'exit 0' : r.out.slice(-3000));
  t.match(r.out, /pipeline success/);
  t.match(r.out, /plugin_config\.endpoint: unknown key, ignored/, 'the unknown key is warned about');
  t.match(r.out, /build\s+success\s+i-[0-9a-f]{17}/, 'jobs ran on EC2 instances');
  await nothingLeft(s);
  t.equal(s.cloud.groups.get('runners')!.desiredCapacity, 0, 'the group is back to zero');
  t.ok(callsOf(s, 'DescribeInstances') < callsOf(s, 'DescribeAutoScalingGroups'), 'DescribeInstances only from updates, never per job');
  t.ok(callsOf(s, 'SendSSHPublicKey') >= 6, 'a fresh key push for the connections of six jobs');
});

t.test('a throttling storm (every third AWS call refused) slows the pipeline down but does not fail it', async (t) => {
  const s = await standin(t, N + 4, { groups: [{ name: 'runners', maxSize: 3 }], throttle: [{ every: 3 }] });
  const r = await runnerExec(t, s, ['--file', join(ROOT, 'examples', 'pipeline', '.gitlab-ci.yml'), 'build', 'package'], configToml('runners', 2, 3));
  t.equal(r.code, 0, r.code === 0 ? 'exit 0' : r.out.slice(-3000));
  t.match(r.out, /pipeline success/);
  t.ok(s.faults.throttled >= 5, `${s.faults.throttled} calls were throttled and retried`);
  await nothingLeft(s);
});

t.test('an instance terminated mid-job: that job fails clearly, nothing leaks, the manager goes on', async (t) => {
  const s = await standin(t, N + 1, { groups: [{ name: 'runners', maxSize: 2 }] });
  const dir = tmpDir(t, { prefix: 'aws-exec-project' });
  const marks = join(dir, 'marks');
  mkdirSync(marks);
  writeFileSync(
    join(dir, '.gitlab-ci.yml'),
    `stages: [work, after]
victim:
  stage: work
  script:
    - pwd > ${marks}/victim
    - sleep 60
bystander:
  stage: work
  script:
    - echo "bystander done"
report:
  stage: after
  when: always
  script:
    - echo "the manager goes on"
`,
  );
  const done = runnerExec(t, s, ['--file', join(dir, '.gitlab-ci.yml')], configToml('runners', 1, 2));
  // The victim's working directory names the machine it runs on; terminate the instance in front of it.
  const where = await waitFor(() => (existsSync(join(marks, 'victim')) ? readFileSync(join(marks, 'victim'), 'utf8') : ''), { what: 'the victim job to start', timeoutMs: 30_000 });
  const machine = /instances\/([^/]+)\//.exec(where)?.[1];
  const inst = [...s.cloud.instances.values()].find((i) => i.backendId === machine);
  t.ok(inst, `the victim runs on ${machine}`);
  const terminated = inst!.id;
  s.cloud.terminateOutOfBand(terminated);
  const r = await done;
  t.equal(r.code, 1, 'the pipeline fails');
  t.match(r.out, /victim\s+failed/);
  t.match(r.out, /bystander\s+success/);
  t.match(r.out, /report\s+success/, 'a later job still runs');
  t.match(r.out, /the manager goes on/);
  t.match(r.out, `ERROR: Job failed (system failure): connection to instance ${terminated} (${inst!.privateIp}:${SSH_PORT}) lost`, 'the failure names what happened');
  await nothingLeft(s);
  t.same(readdirSync(marks), ['victim']);
});

t.test('a missing group stops runner exec with a clear error', async (t) => {
  const s = await standin(t, N + 2, { groups: [{ name: 'runners' }] });
  const r = await runnerExec(t, s, ['--file', join(ROOT, 'examples', 'pipeline', '.gitlab-ci.yml')], configToml('no-such-group', 1, 1));
  t.not(r.code, 0);
  t.match(r.out, /auto scaling group "no-such-group" not found in region us-east-1/);
});

t.test('runner fleeting conformance passes against the plugin binary and the stand-in', { skip: SSH_PORT !== 22 && 'the CLI dials port 22 (needs root)' }, async (t) => {
  const s = await standin(t, N + 3, { groups: [{ name: 'runners', maxSize: 2 }] });
  const dir = tmpDir(t, { prefix: 'aws-conformance' });
  writeFileSync(join(dir, 'plugin_config.json'), JSON.stringify({ name: 'runners', region: 'us-east-1' }));
  const child = spawn(process.execPath, [RUNNER, 'fleeting', 'conformance', PLUGIN, '--config', join(dir, 'plugin_config.json'), '--timeout', '60'], {
    cwd: ROOT,
    env: { ...process.env, ...AWS_ENV, AWS_ENDPOINT_URL: s.endpoint },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  t.equal(code, 0, code === 0 ? 'exit 0' : out);
  t.match(out, /(\d+) of \1 checks passed \(provider aws\/us-east-1\/runners, version \d+\.\d+\.\d+\)/);
  await nothingLeft(s);
});
