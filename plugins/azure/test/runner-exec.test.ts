// `runner exec` (the real CLI binary, its plugin host, taskscaler, connector and executor) with an azure config:
// runner → plugins/azure (a plugin process) → the Azure stand-in over HTTPS → real SSH servers, password logins.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import type { AzureStandin } from '@fleetrunner/azure-standin';
import { tmpDir, waitFor } from '@fleetrunner/testing';
import { PASSWORD, RG, SSH_PORT, USER, callsOf, scaleSet, standin } from './harness.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const RUNNER = join(ROOT, 'packages', 'cli', 'bin', 'runner.js');
const PLUGIN = join(ROOT, 'plugins', 'azure', 'bin', 'plugin.js');
const N = 10;

function configToml(s: AzureStandin, name: string, capacity: number, maxInstances: number, connector = `password = "${PASSWORD}"\nuse_static_credentials = true\nuse_external_addr = true\n`): string {
  return `concurrent = 4
[[runners]]
name = "azure"
url = "http://localhost"
token = "exec-azure"
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
name = ${JSON.stringify(name)}
subscription_id = "${s.subscriptionId}"
resource_group_name = "${RG}"
[runners.autoscaler.connector_config]
username = "${USER}"
protocol_port = ${SSH_PORT}
${connector}[runners.autoscaler.state_storage]
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

/** Runs `runner exec` with the stand-in's environment (service principal, endpoint overrides, NODE_EXTRA_CA_CERTS). */
function runnerExec(t: Test, s: AzureStandin, args: string[], config: string, env: Record<string, string | undefined> = {}): Promise<Run> {
  const dir = tmpDir(t, { prefix: 'azure-exec' });
  const file = join(dir, 'config.toml');
  writeFileSync(file, config);
  const child = spawn(process.execPath, [RUNNER, 'exec', '--config', file, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...s.env, XDG_CACHE_HOME: join(dir, 'cache'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, out })));
}

/** Waits until every scale set is empty and no machine is left behind it. */
async function nothingLeft(s: AzureStandin): Promise<void> {
  const left = async () => {
    const vms = [...s.cloud.scaleSets.values()].flatMap((ss) => ss.vms.map((v) => `${v.name} ${v.provisioningState}/${v.power}`));
    const capacity = [...s.cloud.scaleSets.values()].map((ss) => ss.capacity);
    return { vms, capacity, machines: [...(await s.cloud.options.backend.states()).entries()] };
  };
  await waitFor(async () => {
    const l = await left();
    return l.vms.length === 0 && l.capacity.every((c) => c === 0) && l.machines.length === 0;
  }, { what: 'every VM deleted and its machine gone' }).catch(async (err: unknown) => {
    throw new Error(`${err instanceof Error ? err.message : String(err)}: left ${JSON.stringify(await left())}`);
  });
}

t.test('the example pipeline runs green through plugins/azure and the stand-in, logging in with the scale set password', async (t) => {
  const s = await standin(t, N, { scaleSets: [scaleSet('runners', { quota: 3 })] });
  const r = await runnerExec(t, s, ['--file', join(ROOT, 'examples', 'pipeline', '.gitlab-ci.yml')], configToml(s, 'runners', 2, 3));
  t.equal(r.code, 0, r.code === 0 ? 'exit 0' : r.out.slice(-3000));
  t.match(r.out, /pipeline success/);
  t.match(r.out, /build\s+success\s+runners_\d+/, 'jobs ran on the scale set’s VMs');
  await nothingLeft(s);
  t.ok(callsOf(s, 'network:networkInterfaces.listVirtualMachineScaleSetVMNetworkInterfaces') <= 3, 'addresses are read once per VM, not per job');
  t.ok(callsOf(s, 'compute:virtualMachineScaleSetVMs.list') > 0);
});

t.test('a throttling storm (every third call refused with 429, every seventh with 503) slows the pipeline down but loses nothing', async (t) => {
  const s = await standin(t, N + 1, { scaleSets: [scaleSet('runners', { quota: 3 })], throttle: [{ every: 3, retryAfterSeconds: 0 }, { every: 7, status: 503 }] });
  const r = await runnerExec(t, s, ['--file', join(ROOT, 'examples', 'pipeline', '.gitlab-ci.yml'), 'build', 'package'], configToml(s, 'runners', 2, 3));
  t.equal(r.code, 0, r.code === 0 ? 'exit 0' : r.out.slice(-3000));
  t.match(r.out, /pipeline success/);
  t.ok(s.faults.throttled >= 5, `${s.faults.throttled} calls were throttled and retried`);
  await nothingLeft(s);
});

t.test('a VM deleted out of band mid-job: that job fails as a system failure, it is replaced, nothing leaks', async (t) => {
  const s = await standin(t, N + 2, { scaleSets: [scaleSet('runners', { quota: 3 })] });
  const dir = tmpDir(t, { prefix: 'azure-exec-project' });
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
    - sleep 8
report-too:
  stage: after
  when: always
  script:
    - echo "on a second instance"
    - sleep 8
`,
  );
  const done = runnerExec(t, s, ['--file', join(dir, '.gitlab-ci.yml')], configToml(s, 'runners', 1, 2));
  const where = await waitFor(() => (existsSync(join(marks, 'victim')) ? readFileSync(join(marks, 'victim'), 'utf8') : ''), { what: 'the victim job to start', timeoutMs: 30_000 });
  const machine = /instances\/([^/]+)\//.exec(where)?.[1];
  const ss = s.cloud.scaleSet(RG, 'runners');
  const vm = ss.vms.find((v) => v.backendId === machine);
  t.ok(vm, `the victim runs on ${machine}`);
  const { name, publicIp, instanceId } = vm!;
  const seen = new Set(ss.vms.map((v) => v.name));
  s.cloud.deleteOutOfBand(RG, 'runners', instanceId);
  const r = await done;
  t.equal(r.code, 1, 'the pipeline fails');
  t.match(r.out, /victim\s+failed/);
  t.match(r.out, /runner_system_failure|system failure/i, 'as a system failure');
  t.match(r.out, /bystander\s+success/);
  t.match(r.out, /report\s+success/, 'a later job still runs');
  t.match(r.out, `connection to instance ${name} (${publicIp}:${SSH_PORT}) lost`, 'the failure names what happened');
  t.match(r.out, /report-too\s+success/);
  // Two jobs at once on one-job instances: the lost VM had to be replaced by a new one.
  const ran = [...r.out.matchAll(/(?:report|report-too)\s+success\s+(runners_\d+)/g)].map((m) => m[1]!);
  t.ok(ran.some((v) => !seen.has(v)), `a new VM ran a later job (${ran.join(', ')}; ${[...seen].join(', ')} existed before)`);
  t.notOk(ran.includes(name), 'not on the deleted one');
  await nothingLeft(s);
  t.same(readdirSync(marks), ['victim']);
});

t.test('a missing scale set and bad credentials stop runner exec with a clear error naming the key', async (t) => {
  const s = await standin(t, N + 3, { scaleSets: [scaleSet('runners')] });
  const missing = await runnerExec(t, s, ['--file', join(ROOT, 'examples', 'pipeline', '.gitlab-ci.yml')], configToml(s, 'no-such-set', 1, 1));
  t.not(missing.code, 0);
  t.match(missing.out, new RegExp(`plugin_config\\.name: scale set "no-such-set" not found in resource group ${RG} of subscription ${s.subscriptionId}`));
  const bad = await runnerExec(t, s, ['--file', join(ROOT, 'examples', 'pipeline', '.gitlab-ci.yml')], configToml(s, 'runners', 1, 1), { AZURE_CLIENT_SECRET: 'not-the-secret' });
  t.not(bad.code, 0);
  t.match(bad.out, /AADSTS7000215: Invalid client secret provided.*\(credentials from the environment \(AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET/);
});

t.test('the docs example config (one job per instance) runs the pipeline as written, plugin = "azure" found on PATH', { skip: SSH_PORT !== 22 && 'the example dials port 22 (needs root)' }, async (t) => {
  const s = await standin(t, N + 4, { resourceGroup: 'my-resource-group', scaleSets: [scaleSet('my-linux-scale-set', { quota: 10 })] });
  const config = readFileSync(join(ROOT, 'packages', 'config', 'test', 'fixtures', 'docs', 'instance-azure-one-job-per-instance.toml'), 'utf8');
  const bin = tmpDir(t, { prefix: 'azure-exec-path' });
  symlinkSync(PLUGIN, join(bin, 'fleeting-plugin-azure'));
  const r = await runnerExec(t, s, ['--file', join(ROOT, 'examples', 'pipeline', '.gitlab-ci.yml')], config, { PATH: `${bin}:${process.env.PATH ?? ''}` });
  t.equal(r.code, 0, r.code === 0 ? 'exit 0' : r.out.slice(-3000));
  t.match(r.out, /pipeline success/);
  t.match(r.out, /build\s+success\s+my-linux-scale-set_\d+/);
});
