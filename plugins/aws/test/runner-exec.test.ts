// `runner exec` (the real CLI binary, its plugin host, taskscaler, connector and executor) with an aws config:
// runner → plugins/aws (a plugin process) → the AWS stand-in → real SSH servers.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { AwsStandin } from '@fleetrunner/aws-standin';
import { EXAMPLE_PIPELINE, REPO_ROOT, autoscalerToml, runnerConformance, runnerExec as runRunnerExec, pipelineSucceeded, throttlingStorm, victimProject, waitFor, type RunnerRun } from '@fleetrunner/testing';
import { AWS_ENV, SSH_PORT, callsOf, standin } from './harness.js';

const PLUGIN = join(REPO_ROOT, 'plugins', 'aws', 'bin', 'plugin.js');
const N = 90;

function configToml(group: string, capacity: number, maxInstances: number, extraPluginConfig = ''): string {
  return autoscalerToml({
    name: 'aws',
    plugin: PLUGIN,
    capacity,
    maxInstances,
    pluginConfig: `name = ${JSON.stringify(group)}\nregion = "us-east-1"\n${extraPluginConfig}`,
    connector: `protocol_port = ${SSH_PORT}\n`,
  });
}

/** Runs `runner exec` against the stand-in (credentials and endpoint in the SDK environment). */
function runnerExec(t: Test, s: AwsStandin, args: string[], config: string): Promise<RunnerRun> {
  return runRunnerExec(t, { prefix: 'aws-exec', config, args, env: { ...AWS_ENV, AWS_ENDPOINT_URL: s.endpoint } });
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
  const r = await runnerExec(t, s, ['--file', EXAMPLE_PIPELINE], configToml('runners', 2, 3, 'endpoint = "http://example.invalid"\n'));
  pipelineSucceeded(t, r);
  t.match(r.out, /plugin_config\.endpoint: unknown key, ignored/, 'the unknown key is warned about');
  t.match(r.out, /build\s+success\s+i-[0-9a-f]{17}/, 'jobs ran on EC2 instances');
  await nothingLeft(s);
  t.equal(s.cloud.groups.get('runners')!.desiredCapacity, 0, 'the group is back to zero');
  t.ok(callsOf(s, 'DescribeInstances') < callsOf(s, 'DescribeAutoScalingGroups'), 'DescribeInstances only from updates, never per job');
  t.ok(callsOf(s, 'SendSSHPublicKey') >= 6, 'a fresh key push for the connections of six jobs');
});

t.test('a throttling storm (every third AWS call refused) slows the pipeline down but does not fail it', async (t) => {
  const s = await standin(t, N + 4, { groups: [{ name: 'runners', maxSize: 3 }], throttle: [{ every: 3 }] });
  await throttlingStorm(t, s.faults, (args) => runnerExec(t, s, args, configToml('runners', 2, 3)));
  await nothingLeft(s);
});

t.test('an instance terminated mid-job: that job fails clearly, nothing leaks, the manager goes on', async (t) => {
  const s = await standin(t, N + 1, { groups: [{ name: 'runners', maxSize: 2 }] });
  const project = victimProject(t, 'aws-exec-project');
  // The victim's working directory names the machine it runs on; terminate the instance in front of it.
  const { done, machine } = await project.start((args) => runnerExec(t, s, args, configToml('runners', 1, 2)));
  const inst = [...s.cloud.instances.values()].find((i) => i.backendId === machine);
  t.ok(inst, `the victim runs on ${machine}`);
  const terminated = inst!.id;
  s.cloud.terminateOutOfBand(terminated);
  const r = await done;
  project.onlyVictimFailed(t, r);
  t.match(r.out, /the manager goes on/);
  t.match(r.out, `ERROR: Job failed (system failure): connection to instance ${terminated} (${inst!.privateIp}:${SSH_PORT}) lost`, 'the failure names what happened');
  await nothingLeft(s);
  t.same(readdirSync(project.marks), ['victim']);
});

t.test('a missing group stops runner exec with a clear error', async (t) => {
  const s = await standin(t, N + 2, { groups: [{ name: 'runners' }] });
  const r = await runnerExec(t, s, ['--file', EXAMPLE_PIPELINE], configToml('no-such-group', 1, 1));
  t.not(r.code, 0);
  t.match(r.out, /auto scaling group "no-such-group" not found in region us-east-1/);
});

t.test('runner fleeting conformance passes against the plugin binary and the stand-in', { skip: SSH_PORT !== 22 && 'the CLI dials port 22 (needs root)' }, async (t) => {
  const s = await standin(t, N + 3, { groups: [{ name: 'runners', maxSize: 2 }] });
  const { code, out } = await runnerConformance(t, { prefix: 'aws-conformance', plugin: PLUGIN, pluginConfig: { name: 'runners', region: 'us-east-1' }, env: { ...AWS_ENV, AWS_ENDPOINT_URL: s.endpoint } });
  t.equal(code, 0, code === 0 ? 'exit 0' : out);
  t.match(out, /(\d+) of \1 checks passed \(provider aws\/us-east-1\/runners, version \d+\.\d+\.\d+\)/);
  await nothingLeft(s);
});
