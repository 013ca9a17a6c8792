// `runner exec` (the real CLI binary, its plugin host, taskscaler, connector and executor) with a googlecloud
// config: runner → plugins/googlecloud (a plugin process) → the GCE stand-in → real SSH servers.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { newServiceAccountKey, type GceStandin } from '@fleetrunner/gce-standin';
import { tmpDir, waitFor } from '@fleetrunner/testing';
import { PROJECT, SSH_PORT, ZONE, callsOf, standin } from './harness.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const RUNNER = join(ROOT, 'packages', 'cli', 'bin', 'runner.js');
const PLUGIN = join(ROOT, 'plugins', 'googlecloud', 'bin', 'plugin.js');
const N = 10;

function configToml(group: string, capacity: number, maxInstances: number, extraPluginConfig = ''): string {
  return `concurrent = 4
[[runners]]
name = "googlecloud"
url = "http://localhost"
token = "exec-gce"
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
project = "${PROJECT}"
zone = "${ZONE}"
${extraPluginConfig}[runners.autoscaler.connector_config]
username = "runner"
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

/** Runs `runner exec` with the stand-in's environment (endpoint override, Application Default Credentials). */
function runnerExec(t: Test, s: GceStandin, args: string[], config: string, env: Record<string, string> = {}): Promise<Run> {
  const dir = tmpDir(t, { prefix: 'gce-exec' });
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

/** Waits until the group is empty and no machine is left behind it. */
async function nothingLeft(s: GceStandin): Promise<void> {
  await waitFor(async () => [...s.cloud.groups.values()].every((g) => g.instances.length === 0 && g.targetSize === 0) && (await s.cloud.options.backend.states()).size === 0, {
    what: 'every instance deleted and its machine gone',
  });
}

t.test('the example pipeline runs green through plugins/googlecloud and the stand-in', async (t) => {
  const s = await standin(t, N, { groups: [{ name: 'runners', quota: 3 }] });
  const r = await runnerExec(t, s, ['--file', join(ROOT, 'examples', 'pipeline', '.gitlab-ci.yml')], configToml('runners', 2, 3));
  t.equal(r.code, 0, r.code === 0 ? 'exit 0' : r.out.slice(-3000));
  t.match(r.out, /pipeline success/);
  t.match(r.out, /build\s+success\s+runners-[a-z0-9]{4}/, 'jobs ran on the group’s instances');
  await nothingLeft(s);
  t.ok(callsOf(s, 'instances.get') <= callsOf(s, 'instances.setMetadata') + 3, 'instances are read once each, not per job');
  t.ok(callsOf(s, 'instanceGroupManagers.listManagedInstances') > 0);
});

t.test('a throttling storm (every third call refused with 429 or 503) slows the pipeline down but loses nothing', async (t) => {
  const s = await standin(t, N + 1, { groups: [{ name: 'runners', quota: 3 }], throttle: [{ every: 3, retryAfterSeconds: 0 }, { every: 7, status: 503 }] });
  const r = await runnerExec(t, s, ['--file', join(ROOT, 'examples', 'pipeline', '.gitlab-ci.yml'), 'build', 'package'], configToml('runners', 2, 3));
  t.equal(r.code, 0, r.code === 0 ? 'exit 0' : r.out.slice(-3000));
  t.match(r.out, /pipeline success/);
  t.ok(s.faults.throttled >= 5, `${s.faults.throttled} calls were throttled and retried`);
  await nothingLeft(s);
});

t.test('an instance deleted out of band mid-job: that job fails clearly, nothing leaks, the manager goes on', async (t) => {
  const s = await standin(t, N + 2, { groups: [{ name: 'runners', quota: 3 }] });
  const dir = tmpDir(t, { prefix: 'gce-exec-project' });
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
  const where = await waitFor(() => (existsSync(join(marks, 'victim')) ? readFileSync(join(marks, 'victim'), 'utf8') : ''), { what: 'the victim job to start', timeoutMs: 30_000 });
  const machine = /instances\/([^/]+)\//.exec(where)?.[1];
  const inst = [...s.cloud.instances.values()].find((i) => i.backendId === machine);
  t.ok(inst, `the victim runs on ${machine}`);
  const name = inst!.name;
  const ip = inst!.privateIp;
  s.cloud.deleteOutOfBand(ZONE, name);
  const r = await done;
  t.equal(r.code, 1, 'the pipeline fails');
  t.match(r.out, /victim\s+failed/);
  t.match(r.out, /bystander\s+success/);
  t.match(r.out, /report\s+success/, 'a later job still runs');
  t.match(r.out, `connection to instance ${name} (${ip}:${SSH_PORT}) lost`, 'the failure names what happened');
  await nothingLeft(s).catch((err: unknown) => {
    t.comment(r.out.split('\n').filter((l) => /WARN|ERROR|plugin/.test(l)).slice(-30).join('\n'));
    t.comment(JSON.stringify([...s.cloud.groups.values()].map((g) => ({ targetSize: g.targetSize, instances: g.instances.map((i) => [i.name, i.currentAction, i.status]) }))));
    throw err;
  });
  t.same(readdirSync(marks), ['victim']);
});

t.test('a missing group and bad credentials stop runner exec with a clear error naming the key', async (t) => {
  const s = await standin(t, N + 3, { groups: [{ name: 'runners' }] });
  const missing = await runnerExec(t, s, ['--file', join(ROOT, 'examples', 'pipeline', '.gitlab-ci.yml')], configToml('no-such-group', 1, 1));
  t.not(missing.code, 0);
  t.match(missing.out, /plugin_config\.name: instance group "no-such-group" not found in project fleetrunner-test zone us-central1-a/);

  // A key of a service account the (stand-in) project does not know.
  const dir = tmpDir(t, { prefix: 'gce-exec-creds' });
  const other = join(dir, 'other.json');
  writeFileSync(other, JSON.stringify(newServiceAccountKey(PROJECT, 'stranger').file));
  const bad = await runnerExec(t, s, ['--file', join(ROOT, 'examples', 'pipeline', '.gitlab-ci.yml')], configToml('runners', 1, 1, `credentials_file = ${JSON.stringify(other)}\n`));
  t.not(bad.code, 0);
  t.match(bad.out, /401 authError: Request had invalid authentication credentials\. .*\(credentials from plugin_config\.credentials_file \(/);
  const none = await runnerExec(t, s, ['--file', join(ROOT, 'examples', 'pipeline', '.gitlab-ci.yml')], configToml('runners', 1, 1, `credentials_file = ${JSON.stringify(join(dir, 'absent.json'))}\n`));
  t.not(none.code, 0);
  t.match(none.out, /plugin_config\.credentials_file: reading .*absent\.json: ENOENT/);
});

t.test('runner fleeting conformance passes against the plugin binary and the stand-in', { skip: SSH_PORT !== 22 && 'the CLI dials port 22 (needs root)' }, async (t) => {
  const s = await standin(t, N + 4, { groups: [{ name: 'runners', quota: 2 }] });
  const dir = tmpDir(t, { prefix: 'gce-conformance' });
  writeFileSync(join(dir, 'plugin_config.json'), JSON.stringify({ name: 'runners', project: PROJECT, zone: ZONE, credentials_file: s.credentialsFile }));
  const child = spawn(process.execPath, [RUNNER, 'fleeting', 'conformance', PLUGIN, '--config', join(dir, 'plugin_config.json'), '--timeout', '60'], {
    cwd: ROOT,
    env: { ...process.env, ...s.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  t.equal(code, 0, code === 0 ? 'exit 0' : out);
  t.match(out, /(\d+) of \1 checks passed \(provider gcp\/fleetrunner-test\/us-central1-a\/runners, version \d+\.\d+\.\d+\)/);
  await nothingLeft(s);
});

t.test('the docs example config (one job per instance) runs the pipeline as written, plugin = "googlecloud" found on PATH', { skip: SSH_PORT !== 22 && 'the example dials port 22 (needs root)' }, async (t) => {
  const s = await standin(t, N + 5, { project: 'my-gcp-project', zone: 'europe-west1-c', groups: [{ name: 'my-linux-instance-group', quota: 10 }] });
  const fixture = readFileSync(join(ROOT, 'packages', 'config', 'test', 'fixtures', 'docs', 'instance-googlecloud-one-job-per-instance.toml'), 'utf8');
  // Only the credentials file differs: the example names a user's gcloud file.
  const config = fixture.replace('/home/user/.config/gcloud/application_default_credentials.json', s.credentialsFile);
  t.not(config, fixture);
  const bin = tmpDir(t, { prefix: 'gce-exec-path' });
  symlinkSync(PLUGIN, join(bin, 'fleeting-plugin-googlecloud'));
  const r = await runnerExec(t, s, ['--file', join(ROOT, 'examples', 'pipeline', '.gitlab-ci.yml')], config, { PATH: `${bin}:${process.env.PATH ?? ''}` });
  t.equal(r.code, 0, r.code === 0 ? 'exit 0' : r.out.slice(-3000));
  t.match(r.out, /pipeline success/);
  t.match(r.out, /build\s+success\s+my-linux-instance-group-[a-z0-9]{4}/);
});
