// The client through an SSH connection, as the executor reaches a host's daemon: every gRPC connection is an
// OpenSSH streamlocal channel (ssh2 `openssh_forwardOutStreamLocal`) to the daemon's unix socket, through a real
// OpenSSH sshd on 127.92.3.1. The server is the real one over a minimal hypervisor.
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import t from 'tap';
import { sshConnect, startSshd, tmpDir } from '@fleetrunner/testing';
import { GrpcStatus, NestingError, NotInitializedError, connect, lazyInitClient, serve, type Hypervisor, type VirtualMachine } from '../src/index.js';

class OneVmHypervisor implements Hypervisor {
  readonly name = 'one';
  vms: VirtualMachine[] = [];
  async init(): Promise<{ slots: number }> {
    return { slots: 1 };
  }
  async shutdown(): Promise<void> {
    this.vms = [];
  }
  async create(image: string): Promise<VirtualMachine> {
    const vm = { id: `vm-${this.vms.length + 1}`, name: image, addr: '127.92.3.9:22' };
    this.vms.push(vm);
    return vm;
  }
  async delete(id: string): Promise<void> {
    this.vms = this.vms.filter((v) => v.id !== id);
  }
  async list(): Promise<VirtualMachine[]> {
    return this.vms;
  }
  async close(): Promise<void> {}
}

t.test('the client over OpenSSH streamlocal channels to the daemon socket', async (t) => {
  const dir = tmpDir(t, { prefix: 'nesting-ssh', mode: 0o755 });
  const socket = join(dir, 'nesting.sock');
  const server = await serve(socket, new OneVmHypervisor());
  t.teardown(() => server.close());
  const sshd = await startSshd({ host: '127.92.3.1' });
  t.teardown(() => sshd.stop());
  const ssh = await sshConnect({ host: sshd.host, port: sshd.port, username: sshd.username, privateKey: sshd.clientKey });
  t.teardown(() => ssh.end());
  let channels = 0;
  const raw = await connect(
    () =>
      new Promise<Duplex>((resolve, reject) =>
        ssh.openssh_forwardOutStreamLocal(socket, (err, stream) => {
          if (err) reject(err);
          else {
            channels++;
            resolve(stream);
          }
        }),
      ),
  );
  t.teardown(() => raw.close());
  await t.rejects(raw.list(), NotInitializedError);
  const client = lazyInitClient(raw, { any: 'config' });
  const first = await client.create('img', 0);
  const second = await client.create('img', 0);
  t.equal(second.stompedVmId, first.vm.id);
  t.same(await client.list(), [second.vm]);
  t.equal(channels, 1, 'one channel carries every call');

  // A socket the daemon does not serve: sshd refuses the channel, the error says so.
  const missing = await connect(
    () =>
      new Promise<Duplex>((resolve, reject) =>
        ssh.openssh_forwardOutStreamLocal(join(dir, 'nothing.sock'), (err, stream) => (err ? reject(err) : resolve(stream))),
      ),
  );
  t.teardown(() => missing.close());
  const err = (await missing.list().catch((e: unknown) => e)) as NestingError;
  t.equal(err.status, GrpcStatus.UNAVAILABLE);
  t.match(err.message, /^listing VMs: connecting to the nesting daemon: .*(Connection refused|open failed|failure)/i);
});
