// `runner exec` (the real CLI binary, its plugin host, taskscaler, connector and executor) with a googlecloud
// config: runner → plugins/googlecloud (a plugin process) → the GCE stand-in → real SSH servers.
import { readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { newServiceAccountKey, type GceStandin } from '@fleetrunner/gce-standin';
import { EXAMPLE_PIPELINE, REPO_ROOT, autoscalerToml, runnerConformance, runnerExec as runRunnerExec, tmpDir, pipelineSucceeded, throttlingStorm, victimProject, waitFor, type RunnerRun } from '@fleetrunner/testing';
import { PROJECT, SSH_PORT, ZONE, callsOf, standin } from './harness.js';

const PLUGIN = join(REPO_ROOT, 'plugins', 'googlecloud', 'bin', 'plugin.js');
const N = 10;

function configToml(group: string, capacity: number, maxInstances: number, extraPluginConfig = ''): string {
  return autoscalerToml({
    name: 'googlecloud',
    token: 'gce',
    plugin: PLUGIN,
    capacity,
    maxInstances,
    pluginConfig: `name = ${JSON.stringify(group)}\nproject = "${PROJECT}"\nzone = "${ZONE}"\n${extraPluginConfig}`,
    connector: `username = "runner"\nprotocol_port = ${SSH_PORT}\n`,
  });
}

/** Runs `runner exec` with the stand-in's environment (endpoint override, Application Default Credentials). */
function runnerExec(t: Test, s: GceStandin, args: string[], config: string, env: Record<string, string> = {}): Promise<RunnerRun> {
  return runRunnerExec(t, { prefix: 'gce-exec', config, args, env: { ...s.env, ...env } });
}

/** Waits until the group is empty and no machine is left behind it. */
async function nothingLeft(s: GceStandin): Promise<void> {
  await waitFor(async () => [...s.cloud.groups.values()].every((g) => g.instances.length === 0 && g.targetSize === 0) && (await s.cloud.options.backend.states()).size === 0, {
    what: 'every instance deleted and its machine gone',
  });
}

t.test('the example pipeline runs green through plugins/googlecloud and the stand-in', async (t) => {
  const s = await standin(t, N, { groups: [{ name: 'runners', quota: 3 }] });
  const r = await runnerExec(t, s, ['--file', EXAMPLE_PIPELINE], configToml('runners', 2, 3));
  pipelineSucceeded(t, r);
  t.match(r.out, /build\s+success\s+runners-[a-z0-9]{4}/, 'jobs ran on the group’s instances');
  await nothingLeft(s);
  t.ok(callsOf(s, 'instances.get') <= callsOf(s, 'instances.setMetadata') + 3, 'instances are read once each, not per job');
  t.ok(callsOf(s, 'instanceGroupManagers.listManagedInstances') > 0);
});

t.test('a throttling storm (every third call refused with 429 or 503) slows the pipeline down but loses nothing', async (t) => {
  const s = await standin(t, N + 1, { groups: [{ name: 'runners', quota: 3 }], throttle: [{ every: 3, retryAfterSeconds: 0 }, { every: 7, status: 503 }] });
  await throttlingStorm(t, s.faults, (args) => runnerExec(t, s, args, configToml('runners', 2, 3)));
  await nothingLeft(s);
});

t.test('an instance deleted out of band mid-job: that job fails clearly, nothing leaks, the manager goes on', async (t) => {
  const s = await standin(t, N + 2, { groups: [{ name: 'runners', quota: 3 }] });
  const project = victimProject(t, 'gce-exec-project');
  const { done, machine } = await project.start((args) => runnerExec(t, s, args, configToml('runners', 1, 2)));
  const inst = [...s.cloud.instances.values()].find((i) => i.backendId === machine);
  t.ok(inst, `the victim runs on ${machine}`);
  const name = inst!.name;
  const ip = inst!.privateIp;
  s.cloud.deleteOutOfBand(ZONE, name);
  const r = await done;
  project.onlyVictimFailed(t, r);
  t.match(r.out, `connection to instance ${name} (${ip}:${SSH_PORT}) lost`, 'the failure names what happened');
  await nothingLeft(s).catch((err: unknown) => {
    t.comment(r.out.split('\n').filter((l) => /WARN|ERROR|plugin/.test(l)).slice(-30).join('\n'));
    t.comment(JSON.stringify([...s.cloud.groups.values()].map((g) => ({ targetSize: g.targetSize, instances: g.instances.map((i) => [i.name, i.currentAction, i.status]) }))));
    throw err;
  });
  t.same(readdirSync(project.marks), ['victim']);
});

t.test('a missing group and bad credentials stop runner exec with a clear error naming the key', async (t) => {
  const s = await standin(t, N + 3, { groups: [{ name: 'runners' }] });
  const missing = await runnerExec(t, s, ['--file', EXAMPLE_PIPELINE], configToml('no-such-group', 1, 1));
  t.not(missing.code, 0);
  t.match(missing.out, /plugin_config\.name: instance group "no-such-group" not found in project fleetrunner-test zone us-central1-a/);

  // A key of a service account the (stand-in) project does not know.
  const dir = tmpDir(t, { prefix: 'gce-exec-creds' });
  const other = join(dir, 'other.json');
  writeFileSync(other, JSON.stringify(newServiceAccountKey(PROJECT, 'stranger').file));
  const bad = await runnerExec(t, s, ['--file', EXAMPLE_PIPELINE], configToml('runners', 1, 1, `credentials_file = ${JSON.stringify(other)}\n`));
  t.not(bad.code, 0);
  t.match(bad.out, /401 authError: Request had invalid authentication credentials\. .*\(credentials from plugin_config\.credentials_file \(/);
  const none = await runnerExec(t, s, ['--file', EXAMPLE_PIPELINE], configToml('runners', 1, 1, `credentials_file = ${JSON.stringify(join(dir, 'absent.json'))}\n`));
  t.not(none.code, 0);
  t.match(none.out, /plugin_config\.credentials_file: reading .*absent\.json: ENOENT/);
});

t.test('runner fleeting conformance passes against the plugin binary and the stand-in', { skip: SSH_PORT !== 22 && 'the CLI dials port 22 (needs root)' }, async (t) => {
  const s = await standin(t, N + 4, { groups: [{ name: 'runners', quota: 2 }] });
  const pluginConfig = { name: 'runners', project: PROJECT, zone: ZONE, credentials_file: s.credentialsFile };
  const { code, out } = await runnerConformance(t, { prefix: 'gce-conformance', plugin: PLUGIN, pluginConfig, env: s.env });
  t.equal(code, 0, code === 0 ? 'exit 0' : out);
  t.match(out, /(\d+) of \1 checks passed \(provider gcp\/fleetrunner-test\/us-central1-a\/runners, version \d+\.\d+\.\d+\)/);
  await nothingLeft(s);
});

t.test('the docs example config (one job per instance) runs the pipeline as written, plugin = "googlecloud" found on PATH', { skip: SSH_PORT !== 22 && 'the example dials port 22 (needs root)' }, async (t) => {
  const s = await standin(t, N + 5, { project: 'my-gcp-project', zone: 'europe-west1-c', groups: [{ name: 'my-linux-instance-group', quota: 10 }] });
  const fixture = readFileSync(join(REPO_ROOT, 'packages', 'config', 'test', 'fixtures', 'docs', 'instance-googlecloud-one-job-per-instance.toml'), 'utf8');
  // Only the credentials file differs: the example names a user's gcloud file.
  const config = fixture.replace('/home/user/.config/gcloud/application_default_credentials.json', s.credentialsFile);
  t.not(config, fixture);
  const bin = tmpDir(t, { prefix: 'gce-exec-path' });
  symlinkSync(PLUGIN, join(bin, 'fleeting-plugin-googlecloud'));
  const r = await runnerExec(t, s, ['--file', EXAMPLE_PIPELINE], config, { PATH: `${bin}:${process.env.PATH ?? ''}` });
  pipelineSucceeded(t, r);
  t.match(r.out, /build\s+success\s+my-linux-instance-group-[a-z0-9]{4}/);
});
