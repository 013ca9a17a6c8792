// `runner exec` (the real CLI binary, its plugin host, taskscaler, connector and executor) with an azure config:
// runner → plugins/azure (a plugin process) → the Azure stand-in over HTTPS → real SSH servers, password logins.
import { readFileSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { AzureStandin } from '@fleetrunner/azure-standin';
import { EXAMPLE_PIPELINE, REPO_ROOT, autoscalerToml, runnerExec as runRunnerExec, tmpDir, pipelineSucceeded, throttlingStorm, victimProject, waitFor, type RunnerRun } from '@fleetrunner/testing';
import { PASSWORD, RG, SSH_PORT, USER, callsOf, scaleSet, standin } from './harness.js';

const PLUGIN = join(REPO_ROOT, 'plugins', 'azure', 'bin', 'plugin.js');
const N = 10;

function configToml(s: AzureStandin, name: string, capacity: number, maxInstances: number, connector = `password = "${PASSWORD}"\nuse_static_credentials = true\nuse_external_addr = true\n`): string {
  return autoscalerToml({
    name: 'azure',
    plugin: PLUGIN,
    capacity,
    maxInstances,
    pluginConfig: `name = ${JSON.stringify(name)}\nsubscription_id = "${s.subscriptionId}"\nresource_group_name = "${RG}"\n`,
    connector: `username = "${USER}"\nprotocol_port = ${SSH_PORT}\n${connector}`,
  });
}

/** Runs `runner exec` with the stand-in's environment (service principal, endpoint overrides, NODE_EXTRA_CA_CERTS). */
function runnerExec(t: Test, s: AzureStandin, args: string[], config: string, env: Record<string, string | undefined> = {}): Promise<RunnerRun> {
  return runRunnerExec(t, { prefix: 'azure-exec', config, args, env: { ...s.env, ...env } });
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
  const r = await runnerExec(t, s, ['--file', EXAMPLE_PIPELINE], configToml(s, 'runners', 2, 3));
  pipelineSucceeded(t, r);
  t.match(r.out, /build\s+success\s+runners_\d+/, 'jobs ran on the scale set’s VMs');
  await nothingLeft(s);
  t.ok(callsOf(s, 'network:networkInterfaces.listVirtualMachineScaleSetVMNetworkInterfaces') <= 3, 'addresses are read once per VM, not per job');
  t.ok(callsOf(s, 'compute:virtualMachineScaleSetVMs.list') > 0);
});

t.test('a throttling storm (every third call refused with 429, every seventh with 503) slows the pipeline down but loses nothing', async (t) => {
  const s = await standin(t, N + 1, { scaleSets: [scaleSet('runners', { quota: 3 })], throttle: [{ every: 3, retryAfterSeconds: 0 }, { every: 7, status: 503 }] });
  await throttlingStorm(t, s.faults, (args) => runnerExec(t, s, args, configToml(s, 'runners', 2, 3)));
  await nothingLeft(s);
});

t.test('a VM deleted out of band mid-job: that job fails as a system failure, it is replaced, nothing leaks', async (t) => {
  const s = await standin(t, N + 2, { scaleSets: [scaleSet('runners', { quota: 3 })] });
  const project = victimProject(
    t,
    'azure-exec-project',
    `    - sleep 8
report-too:
  stage: after
  when: always
  script:
    - echo "on a second instance"
    - sleep 8
`,
  );
  const { done, machine } = await project.start((args) => runnerExec(t, s, args, configToml(s, 'runners', 1, 2)));
  const ss = s.cloud.scaleSet(RG, 'runners');
  const vm = ss.vms.find((v) => v.backendId === machine);
  t.ok(vm, `the victim runs on ${machine}`);
  const { name, publicIp, instanceId } = vm!;
  const seen = new Set(ss.vms.map((v) => v.name));
  s.cloud.deleteOutOfBand(RG, 'runners', instanceId);
  const r = await done;
  project.onlyVictimFailed(t, r);
  t.match(r.out, /runner_system_failure|system failure/i, 'as a system failure');
  t.match(r.out, `connection to instance ${name} (${publicIp}:${SSH_PORT}) lost`, 'the failure names what happened');
  t.match(r.out, /report-too\s+success/);
  // Two jobs at once on one-job instances: the lost VM had to be replaced by a new one.
  const ran = [...r.out.matchAll(/(?:report|report-too)\s+success\s+(runners_\d+)/g)].map((m) => m[1]!);
  t.ok(ran.some((v) => !seen.has(v)), `a new VM ran a later job (${ran.join(', ')}; ${[...seen].join(', ')} existed before)`);
  t.notOk(ran.includes(name), 'not on the deleted one');
  await nothingLeft(s);
  t.same(readdirSync(project.marks), ['victim']);
});

t.test('a missing scale set and bad credentials stop runner exec with a clear error naming the key', async (t) => {
  const s = await standin(t, N + 3, { scaleSets: [scaleSet('runners')] });
  const missing = await runnerExec(t, s, ['--file', EXAMPLE_PIPELINE], configToml(s, 'no-such-set', 1, 1));
  t.not(missing.code, 0);
  t.match(missing.out, new RegExp(`plugin_config\\.name: scale set "no-such-set" not found in resource group ${RG} of subscription ${s.subscriptionId}`));
  const bad = await runnerExec(t, s, ['--file', EXAMPLE_PIPELINE], configToml(s, 'runners', 1, 1), { AZURE_CLIENT_SECRET: 'not-the-secret' });
  t.not(bad.code, 0);
  t.match(bad.out, /AADSTS7000215: Invalid client secret provided.*\(credentials from the environment \(AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET/);
});

t.test('the docs example config (one job per instance) runs the pipeline as written, plugin = "azure" found on PATH', { skip: SSH_PORT !== 22 && 'the example dials port 22 (needs root)' }, async (t) => {
  const s = await standin(t, N + 4, { resourceGroup: 'my-resource-group', scaleSets: [scaleSet('my-linux-scale-set', { quota: 10 })] });
  const config = readFileSync(join(REPO_ROOT, 'packages', 'config', 'test', 'fixtures', 'docs', 'instance-azure-one-job-per-instance.toml'), 'utf8');
  const bin = tmpDir(t, { prefix: 'azure-exec-path' });
  symlinkSync(PLUGIN, join(bin, 'fleeting-plugin-azure'));
  const r = await runnerExec(t, s, ['--file', EXAMPLE_PIPELINE], config, { PATH: `${bin}:${process.env.PATH ?? ''}` });
  pipelineSucceeded(t, r);
  t.match(r.out, /build\s+success\s+my-linux-scale-set_\d+/);
});
