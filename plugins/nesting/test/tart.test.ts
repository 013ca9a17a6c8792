// The daemon with the tart hypervisor, through its binary and real gRPC, driving test/support/tart-standin.mjs: a
// recording stand-in of the `tart` command line written for these tests (it runs no VM; `tart ip` names a real
// OpenSSH sshd on 127.92.1.1, which plays the guest's SSH server). Checks the tart calls the daemon makes.
import { mkdirSync, readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { GrpcStatus, NestingError, connect } from '@fleetrunner/nesting';
import { sshConnect, sshExec, startSshd, tmpDir, waitFor } from '@fleetrunner/testing';
import { PLUGIN_DIR, alive, startDaemon } from './support/daemon.js';

const STANDIN = join(PLUGIN_DIR, 'test', 'support', 'tart-standin.mjs');

t.test('tart hypervisor against the recording tart stand-in', async (t) => {
  const dir = tmpDir(t, { prefix: 'nesting-tart' });
  const tartDir = join(dir, 'tart');
  mkdirSync(join(tartDir, 'images', 'macos-sonoma-base'), { recursive: true });
  mkdirSync(join(tartDir, 'vms'), { recursive: true });
  // Left by a previous daemon (ours by name) and someone else's VM.
  writeFileSync(join(tartDir, 'vms', 'nesting-0123456789ab.json'), '{}');
  writeFileSync(join(tartDir, 'vms', 'my-own-vm.json'), '{}');
  const sshd = await startSshd({ host: '127.92.1.1' });
  t.teardown(() => sshd.stop());
  const calls = (): string[][] => readFileSync(join(tartDir, 'calls.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as string[]);
  const since = (n: number): string[] => calls().slice(n).map((c) => c.join(' '));
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ tart_binary: STANDIN, ssh_port: sshd.port }));
  const socket = join(dir, 'nesting.sock');
  const daemon = await startDaemon(t, socket, ['-config', config, '-hypervisor', 'tart'], { TART_STANDIN_DIR: tartDir, TART_STANDIN_IP: '127.92.1.1' });
  const client = await connect(`unix://${socket}`);
  t.teardown(() => client.close());

  await t.test('Init lists the VMs and removes the ones a previous daemon left', async (t) => {
    await client.init({});
    t.same(since(0), ['list --format json', 'stop nesting-0123456789ab', 'delete nesting-0123456789ab']);
    t.same(readdirSync(join(tartDir, 'vms')), ['my-own-vm.json'], 'another VM is left alone');
  });

  let firstId = '';
  await t.test('create clones, runs and asks for the IP; the address is SSH-able; a second Create in the slot stomps', async (t) => {
    const n = calls().length;
    const { vm, stompedVmId } = await client.create('macos-sonoma-base', 0);
    firstId = vm.id;
    t.equal(stompedVmId, undefined);
    t.equal(vm.addr, `127.92.1.1:${sshd.port}`);
    const name = `nesting-${vm.id}`;
    const made = since(n);
    t.equal(made[0], `clone macos-sonoma-base ${name}`);
    // `tart run` keeps running while `tart ip` is asked, so the two may be recorded in either order
    t.same(made.slice(1, 3).sort(), [`ip --wait 10 ${name}`, `run --no-graphics ${name}`]);
    const ssh = await sshConnect({ host: '127.92.1.1', port: sshd.port, username: sshd.username, privateKey: sshd.clientKey });
    t.teardown(() => ssh.end());
    t.equal((await sshExec(ssh, 'echo hi')).stdout, 'hi\n');
    t.same(await client.list(), [vm]);
    const runPid = Number(readFileSync(join(tartDir, 'vms', `${name}.pid`), 'utf8'));

    const m = calls().length;
    const second = await client.create('macos-sonoma-base', 0);
    t.equal(second.stompedVmId, firstId);
    t.same(since(m).slice(0, 2), [`stop ${name}`, `delete ${name}`]);
    t.notOk(alive(runPid), 'the first VM\'s tart run ended');
    t.same((await client.list()).map((v) => v.id), [second.vm.id]);
  });

  await t.test('unknown image: InvalidArgument with tart\'s reason, nothing left', async (t) => {
    const err = (await client.create('ghcr.io/nope/nope:latest').catch((e: unknown) => e)) as NestingError;
    t.equal(err.status, GrpcStatus.INVALID_ARGUMENT);
    t.match(err.message, /unknown image "ghcr\.io\/nope\/nope:latest": tart clone failed: Error: the specified VM "ghcr\.io\/nope\/nope:latest" does not exist/);
    t.equal((await client.list()).length, 1);
  });

  await t.test('a VM whose tart run ends is no longer listed; delete of it is NotFound', async (t) => {
    const [vm] = await client.list();
    const pid = Number(readFileSync(join(tartDir, 'vms', `nesting-${vm!.id}.pid`), 'utf8'));
    process.kill(pid, 'SIGKILL');
    await waitFor(async () => (await client.list()).length === 0, { what: 'the VM to leave the list' });
    const err = (await client.delete(vm!.id).catch((e: unknown) => e)) as NestingError;
    t.equal(err.status, GrpcStatus.NOT_FOUND);
    await waitFor(() => !existsSync(join(tartDir, 'vms', `nesting-${vm!.id}.json`)), { what: 'tart delete of the ended VM' });
  });

  await t.test('no IP within boot_timeout: DeadlineExceeded, the VM stopped and deleted', async (t) => {
    await client.shutdown();
    await client.init({ boot_timeout: '2s' });
    writeFileSync(join(tartDir, 'noip'), '');
    const n = calls().length;
    const err = (await client.create('macos-sonoma-base', 1).catch((e: unknown) => e)) as NestingError;
    t.equal(err.status, GrpcStatus.DEADLINE_EXCEEDED);
    t.match(err.message, /VM from image "macos-sonoma-base" did not get an address within 2s \(boot_timeout\); the VM was deleted/);
    const made = since(n);
    const name = made[0]!.split(' ')[2]!;
    t.ok(made.includes(`stop ${name}`) && made.includes(`delete ${name}`), 'stopped and deleted');
    t.same(readdirSync(join(tartDir, 'vms')), ['my-own-vm.json']);
    t.same(await client.list(), []);
  });

  await t.test('delete: stop then delete', async (t) => {
    await import('node:fs').then((fs) => fs.rmSync(join(tartDir, 'noip')));
    // back to the default boot_timeout: the 2 s of the previous subtest are short for a loaded machine
    await client.shutdown();
    await client.init({});
    const { vm } = await client.create('macos-sonoma-base');
    const n = calls().length;
    await client.delete(vm.id);
    t.same(since(n), [`stop nesting-${vm.id}`, `delete nesting-${vm.id}`]);
    t.same(await client.list(), []);
    daemon.child.kill('SIGTERM');
    t.equal((await daemon.exited).code, 0);
  });
});
