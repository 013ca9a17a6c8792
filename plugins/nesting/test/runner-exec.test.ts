// vm_isolation end to end: the real `runner` binary (runner exec) → the local plugin's instance (an SSH server on
// this machine) → the nesting daemon's socket, reached through the instance's SSH connection → a QEMU guest created
// for the job, dialled through the instance → every stage of the job runs in the guest. Forwarded guest ports bind
// 127.96.0.1; local instances take 127.96.1.0/28.
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { connect } from '@fleetrunner/nesting';
import { runnerExec, tmpDir } from '@fleetrunner/testing';
import { buildImage, noQemu, qemuPids, startDaemon } from './support/daemon.js';

interface Report {
  status: string;
  jobs: { name: string; status: string; failureReason?: string; message?: string; instanceId?: string }[];
}

function config(o: { dir: string; socket: string; key: string; allowed: string[]; image?: string }): string {
  return `concurrent = 4
[[runners]]
name = "isolated"
url = "http://localhost"
token = "exec-isolated"
executor = "instance"
shell = "sh"
[runners.instance]
allowed_images = ${JSON.stringify(o.allowed)}
[runners.autoscaler]
plugin = "local"
capacity_per_instance = 2
max_instances = 1
delete_instances_on_shutdown = true
update_interval = "1s"
update_interval_when_expecting = "200ms"
shutdown_deletion_interval = "200ms"
[runners.autoscaler.plugin_config]
subnet = "127.96.1.0/28"
max_size = 4
state_dir = "${join(o.dir, 'local')}"
[runners.autoscaler.state_storage]
enabled = false
[runners.autoscaler.vm_isolation]
enabled = true
nesting_host = "unix://${o.socket}"
${o.image === undefined ? '' : `image = "${o.image}"\n`}[runners.autoscaler.vm_isolation.nesting_config]
accel = "auto"
memory = 256
[runners.autoscaler.vm_isolation.connector_config]
username = "root"
key_path = "${o.key}"
timeout = "60s"
[[runners.autoscaler.policy]]
idle_count = 0
idle_time = "30s"
`;
}

t.test('vm_isolation runs every stage in a nested VM and never on the instance', { skip: noQemu }, async (t) => {
  const image = await buildImage();
  const dir = tmpDir(t, { prefix: 'nesting-exec' });
  const images = join(dir, 'images');
  mkdirSync(images);
  symlinkSync(image, join(images, 'guest'));
  const daemonConfig = join(dir, 'daemon.json');
  writeFileSync(daemonConfig, JSON.stringify({ images_dir: images, state_dir: join(dir, 'state'), host_address: '127.96.0.1' }));
  const socket = join(dir, 'nesting.sock');
  await startDaemon(t, socket, ['-config', daemonConfig, '-hypervisor', 'qemu']);
  const observer = await connect(socket);
  t.teardown(() => observer.close());
  const key = join(image, 'id_ed25519');
  // Written by the jobs: if a stage ran on the instance (this machine), the file would appear here; in a VM it lands
  // in the VM's own file system.
  const marker = join(dir, 'ran-on-the-instance');
  const project = join(dir, 'project');
  mkdirSync(project);
  writeFileSync(
    join(project, '.gitlab-ci.yml'),
    `inside:
  image: $VM_IMAGE
  variables:
    VM_IMAGE: guest
  script:
    - echo "host=$(hostname)"
    - mkdir -p "${dir}" && touch "${marker}"
    - ls -d "$CI_PROJECT_DIR" && test -f .gitlab-ci.yml && echo sources-in-the-vm
refused:
  image: debian:bookworm
  script:
    - touch "${marker}"
`,
  );

  // A VM left from before (as after a manager crash): the instance-ready hook deletes it. The daemon is already
  // initialized, so the runner's lazy Init meets "already initialized" and goes on.
  await observer.init({ accel: 'auto', memory: 256 });
  const leftover = await observer.create('guest', 1);

  const reportFile = join(dir, 'report.json');
  const run = await runnerExec(t, { prefix: 'nesting-exec', config: config({ dir, socket, key, allowed: ['gu?st', 'macos-*'] }), args: ['--file', join(project, '.gitlab-ci.yml'), '--report', reportFile] });
  if (!existsSync(reportFile)) throw new Error(`runner exec wrote no report (exit ${run.code}):\n${run.out}`);
  const report = JSON.parse(readFileSync(reportFile, 'utf8')) as Report;
  const inside = report.jobs.find((j) => j.name === 'inside');
  const refused = report.jobs.find((j) => j.name === 'refused');
  t.equal(inside?.status, 'success', run.out.slice(-4000));
  t.match(run.out, /Creating nesting VM guest in slot \d on instance local-\d+/, 'the image came from the job (variables expanded)');
  t.match(run.out, /host=nesting-guest/, 'the script ran in the guest');
  t.match(run.out, /sources-in-the-vm/, 'the sources were copied into the guest');
  t.match(refused, { status: 'failed', failureReason: 'runner_system_failure', message: 'the job\'s image "debian:bookworm" is not allowed: it matches none of [runners.instance] allowed_images ["gu?st","macos-*"]' });
  t.notOk(refused?.instanceId, 'the refused job never took an instance');
  t.notOk(existsSync(marker), 'no stage ran on the instance itself');
  t.same(await observer.list(), [], 'the job\'s VM was deleted when it ended, and the leftover when the instance became ready');
  t.notMatch(run.out, new RegExp(leftover.vm.id), 'the leftover was never used for the job');
  t.same(qemuPids(join(dir, 'state')), [], 'and its QEMU is gone');

  await t.test('no image anywhere: the job fails before an instance is taken', async (t) => {
    writeFileSync(join(project, '.gitlab-ci.yml'), `plain:\n  script:\n    - touch "${marker}"\n`);
    const file = join(dir, 'report-2.json');
    const r = await runnerExec(t, { prefix: 'nesting-exec', config: config({ dir, socket, key, allowed: [] }), args: ['--file', join(project, '.gitlab-ci.yml'), '--report', file] });
    t.equal(r.code, 1);
    const rep = JSON.parse(readFileSync(file, 'utf8')) as Report;
    t.match(rep.jobs[0], { status: 'failed', failureReason: 'runner_system_failure', message: /^no nesting VM image specified/ });
    t.notOk(existsSync(marker));
  });

  await t.test('a nesting daemon that is not there: system failure naming it, nothing runs on the instance', async (t) => {
    writeFileSync(join(project, '.gitlab-ci.yml'), `plain:\n  script:\n    - touch "${marker}"\n`);
    const file = join(dir, 'report-3.json');
    const r = await runnerExec(t, {
      prefix: 'nesting-exec',
      config: config({ dir, socket: join(dir, 'no-daemon-here.sock'), key, allowed: [], image: 'guest' }),
      args: ['--file', join(project, '.gitlab-ci.yml'), '--report', file],
    });
    t.equal(r.code, 1);
    const rep = JSON.parse(readFileSync(file, 'utf8')) as Report;
    t.match(rep.jobs[0], { status: 'failed', failureReason: 'runner_system_failure', message: /no-daemon-here\.sock/ });
    t.ok(rep.jobs[0]?.instanceId ?? /Instance local-\d+ connected/.test(r.out), 'the instance itself was reached');
    t.notOk(existsSync(marker), 'and no stage ran on it');
  });

  await t.test('an image the daemon does not have: system failure, no VM left', async (t) => {
    writeFileSync(join(project, '.gitlab-ci.yml'), `plain:\n  image: missing\n  script:\n    - touch "${marker}"\n`);
    const file = join(dir, 'report-4.json');
    const r = await runnerExec(t, { prefix: 'nesting-exec', config: config({ dir, socket, key, allowed: [] }), args: ['--file', join(project, '.gitlab-ci.yml'), '--report', file] });
    t.equal(r.code, 1);
    const rep = JSON.parse(readFileSync(file, 'utf8')) as Report;
    t.match(rep.jobs[0], { status: 'failed', failureReason: 'runner_system_failure', message: /unknown image "missing"/ });
    t.notOk(existsSync(marker));
    t.same(await observer.list(), []);
  });
});
