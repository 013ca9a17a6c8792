// The daemon with the qemu hypervisor, through its binary as a child process, real gRPC over its unix socket and
// real QEMU guests built from Debian packages (test/image/build.sh, cached). Two full boots in the whole file (TCG
// here: ~5 s each); one daemon for most subtests. Forwarded SSH ports bind 127.92.0.1.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { AlreadyInitializedError, GrpcStatus, NestingError, NotInitializedError, connect, type NestingClient } from '@fleetrunner/nesting';
import { sshConnect, sshExec, tmpDir, waitFor } from '@fleetrunner/testing';
import { alive, buildImage, noQemu, qemuPids, runCli, startDaemon, type Daemon } from './support/daemon.js';

t.test('qemu hypervisor', { skip: noQemu }, async (t) => {
  const image = await buildImage();
  const dir = tmpDir(t, { prefix: 'nesting-qemu' });
  const images = join(dir, 'images');
  const stateDir = join(dir, 'state');
  mkdirSync(join(images, 'nossh'), { recursive: true });
  symlinkSync(image, join(images, 'guest'));
  // The same kernel and initramfs, with an init that never starts the SSH server.
  writeFileSync(
    join(images, 'nossh', 'image.json'),
    JSON.stringify({ kernel: join(image, 'vmlinuz'), initrd: join(image, 'initrd.img'), append: 'console=ttyS0 quiet panic=-1 nesting.nossh' }),
  );
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ images_dir: images, state_dir: stateDir, host_address: '127.92.0.1', memory: 256 }));
  const socket = join(dir, 'run', 'nesting.sock');
  let daemon: Daemon = await startDaemon(t, socket, ['-config', config, '-hypervisor', 'qemu']);
  const client: NestingClient = await connect(socket);
  t.teardown(() => client.close());
  const key = readFileSync(join(image, 'id_ed25519'), 'utf8');

  await t.test('Init: not initialized before, already initialized after (FailedPrecondition)', async (t) => {
    const err = await client.list().catch((e: unknown) => e);
    t.type(err, NotInitializedError);
    t.equal((err as NestingError).status, GrpcStatus.FAILED_PRECONDITION);
    const cli = await runCli(['list', '-socket', socket]);
    t.equal(cli.code, 1);
    t.equal(cli.stderr, 'nesting: listing VMs: not initialized\n');
    await client.init({ accel: 'auto' });
    await t.rejects(client.init({}), AlreadyInitializedError);
    t.same(await client.list(), []);
  });

  let first = '';
  let firstPid = 0;
  await t.test('create → SSH into the VM → list → the next Create in the slot stomps it', async (t) => {
    const { vm, stompedVmId } = await client.create('guest', 0);
    first = vm.id;
    t.match(daemon.log(), /accelerator: (kvm \(probe guest ran\)|tcg)/, 'the first Create chose an accelerator (KVM only when a probe guest runs)');
    t.equal(stompedVmId, undefined);
    t.equal(vm.name, 'guest');
    t.match(vm.addr, /^127\.92\.0\.1:\d+$/);
    const [host, port] = vm.addr.split(':');
    const ssh = await sshConnect({ host: host!, port: Number(port), username: 'root', privateKey: key, readyTimeout: 20_000 });
    t.teardown(() => ssh.end());
    const res = await sshExec(ssh, 'echo hello from $(hostname); uname -r');
    t.equal(res.code, 0);
    t.match(res.stdout, /^hello from nesting-guest\n\d+\.\d+\.\d+-\d+-cloud-amd64\n$/);
    ssh.end();
    t.same(await client.list(), [vm]);
    const pids = qemuPids(join(stateDir, 'vms', vm.id));
    t.equal(pids.length, 1, 'one QEMU for the VM');
    firstPid = pids[0]!;

    const second = await client.create('guest', 0);
    t.equal(second.stompedVmId, first, 'the VM left in slot 0 was replaced');
    t.notOk(alive(firstPid), 'its QEMU is gone');
    t.same((await client.list()).map((v) => v.id), [second.vm.id]);
  });

  await t.test('bad input: slot out of range, unknown image → InvalidArgument, no QEMU started', async (t) => {
    const before = qemuPids(stateDir).length;
    const slot = (await client.create('guest', 2).catch((e: unknown) => e)) as NestingError;
    t.equal(slot.status, GrpcStatus.INVALID_ARGUMENT);
    t.match(slot.message, /slot 2 is out of range: this daemon has 2 slot\(s\)/);
    const unknown = (await client.create('debian:bookworm').catch((e: unknown) => e)) as NestingError;
    t.equal(unknown.status, GrpcStatus.INVALID_ARGUMENT);
    t.match(unknown.message, /unknown image "debian:bookworm": no directory .*images\/debian:bookworm/);
    const escape = (await client.create('../guest').catch((e: unknown) => e)) as NestingError;
    t.equal(escape.status, GrpcStatus.INVALID_ARGUMENT);
    t.equal(qemuPids(stateDir).length, before);
    const cli = await runCli(['create', '-slot', '7', '-socket', socket, 'guest']);
    t.equal(cli.code, 1);
    t.match(cli.stderr, /slot 7 is out of range/);
  });

  await t.test('a VM whose QEMU is killed is no longer listed', async (t) => {
    const [vm] = await client.list();
    t.ok(vm);
    const [pid] = qemuPids(join(stateDir, 'vms', vm!.id));
    process.kill(pid!, 'SIGKILL');
    await waitFor(async () => (await client.list()).length === 0, { what: 'the killed VM to leave the list' });
    t.same(await client.list(), []);
    const del = (await client.delete(vm!.id).catch((e: unknown) => e)) as NestingError;
    t.equal(del.status, GrpcStatus.NOT_FOUND);
  });

  await t.test('a Create the caller gives up on (its deadline passes) leaves no QEMU', async (t) => {
    const err = (await client.create('nossh', undefined, { timeoutMs: 1500 }).catch((e: unknown) => e)) as NestingError;
    t.equal(err.status, GrpcStatus.DEADLINE_EXCEEDED);
    await waitFor(() => qemuPids(stateDir).length === 0, { what: 'the abandoned VM\'s QEMU to end' });
    await waitFor(() => readdirSync(join(stateDir, 'vms')).length === 0, { what: 'its state to be removed' });
    t.same(await client.list(), []);
  });

  await t.test('a VM that never serves SSH: DeadlineExceeded within boot_timeout, no QEMU left', async (t) => {
    await client.shutdown();
    await client.init({ boot_timeout: '3s', accel: 'tcg' });
    const err = (await client.create('nossh', 1).catch((e: unknown) => e)) as NestingError;
    t.type(err, NestingError);
    t.equal(err.status, GrpcStatus.DEADLINE_EXCEEDED);
    t.match(err.message, /VM from image "nossh" did not get an address: no SSH server answered on 127\.92\.0\.1:\d+ within 3s \(boot_timeout\); the VM was deleted/);
    t.same(qemuPids(stateDir), []);
    t.same(readdirSync(join(stateDir, 'vms')), []);
    t.same(await client.list(), []);
  });

  await t.test('daemon SIGKILLed with a VM starting: at the next start no QEMU from before is left', async (t) => {
    const pending = client.create('nossh').catch((e: unknown) => e);
    const [pid] = await waitFor(() => (qemuPids(stateDir).length > 0 ? qemuPids(stateDir) : undefined), { what: 'a QEMU process' });
    daemon.child.kill('SIGKILL');
    await daemon.exited;
    t.type(await pending, NestingError, 'the call fails with the daemon');
    daemon = await startDaemon(t, socket, ['-config', config, '-hypervisor', 'qemu']);
    t.notOk(alive(pid!), 'the QEMU of the killed daemon is gone');
    t.same(qemuPids(stateDir), []);
    t.same(readdirSync(join(stateDir, 'vms')), [], 'its state was removed');
    await t.rejects(client.list(), NotInitializedError, 'the new daemon starts uninitialized');
  });

  await t.test('SIGTERM: the daemon deletes its VMs and removes its socket', async (t) => {
    daemon.child.kill('SIGTERM');
    const end = await daemon.exited;
    t.equal(end.code, 0);
    t.same(qemuPids(stateDir), []);
    const err = (await client.list().catch((e: unknown) => e)) as NestingError;
    t.equal(err.status, GrpcStatus.UNAVAILABLE);
  });
});

t.test('at start the daemon kills the QEMU a previous daemon left (pidfile in its state dir), and nothing else', { skip: noQemu }, async (t) => {
  const dir = tmpDir(t, { prefix: 'nesting-reap' });
  const stateDir = join(dir, 'state');
  const left = join(stateDir, 'vms', 'vm-0123456789ab');
  const reused = join(stateDir, 'vms', 'vm-ba9876543210');
  mkdirSync(left, { recursive: true });
  mkdirSync(reused, { recursive: true });
  // A QEMU started outside any daemon, so no parent-death signal ends it: no boot device, it idles in the firmware.
  const qemu = spawn('qemu-system-x86_64', ['-nodefaults', '-no-user-config', '-display', 'none', '-accel', 'tcg', '-m', '16', '-pidfile', join(left, 'qemu.pid')], { stdio: 'ignore' });
  const qemuExit = new Promise((resolve) => qemu.once('exit', resolve));
  t.teardown(() => {
    qemu.kill('SIGKILL');
    return qemuExit;
  });
  await waitFor(() => existsSync(join(left, 'qemu.pid')), { what: 'the pidfile of the left QEMU' });
  // A pidfile whose pid now belongs to another process (pid reuse): that process must survive.
  const other = spawn('sleep', ['60'], { stdio: 'ignore' });
  t.teardown(() => other.kill('SIGKILL'));
  writeFileSync(join(reused, 'qemu.pid'), `${other.pid}\n`);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ state_dir: stateDir, images_dir: dir }));
  const daemon = await startDaemon(t, join(dir, 'nesting.sock'), ['-config', join(dir, 'config.json')]);
  await waitFor(() => qemu.exitCode !== null || qemu.signalCode !== null, { what: 'the left QEMU to end' });
  t.equal(qemu.signalCode, 'SIGKILL', 'the left QEMU was killed');
  t.ok(alive(other.pid!), 'a process that reuses a pid from a pidfile is left alone');
  t.same(readdirSync(join(stateDir, 'vms')), [], 'the left VMs\' directories are gone');
  t.match(daemon.log(), /killed VMs a previous daemon left running/);
});
