// The nesting API end to end in one process: the real grpc-js server on a unix socket, the client through a
// caller-supplied stream dialer (the relay) and directly, over a small in-memory hypervisor that records its calls.
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import t, { type Test } from 'tap';
import * as grpc from '@grpc/grpc-js';
import { tmpDir } from '@fleetrunner/testing';
import {
  AlreadyInitializedError,
  NestingError,
  NotInitializedError,
  connect,
  defaultSocketPath,
  invalidArgument,
  lazyInitClient,
  notFound,
  serve,
  socketPathOfTarget,
  unixSocketDialer,
  type Hypervisor,
  type NestingClient,
  type VirtualMachine,
} from '../src/index.js';

/** Keeps VMs in a map; `calls` records every call with its argument. */
class MemoryHypervisor implements Hypervisor {
  readonly name = 'memory';
  readonly calls: string[] = [];
  readonly vms = new Map<string, VirtualMachine>();
  config: Record<string, unknown> | undefined;
  private next = 1;

  async init(config: Record<string, unknown>): Promise<{ slots: number }> {
    this.calls.push(`init ${JSON.stringify(config)}`);
    this.config = config;
    return { slots: 2 };
  }
  async shutdown(): Promise<void> {
    this.calls.push('shutdown');
    this.vms.clear();
  }
  async create(image: string): Promise<VirtualMachine> {
    if (image === 'missing') throw invalidArgument(`unknown image "${image}"`);
    const vm = { id: `vm-${this.next++}`, name: image, addr: `127.92.0.1:${2200 + this.next}` };
    this.calls.push(`create ${image}`);
    this.vms.set(vm.id, vm);
    return vm;
  }
  async delete(id: string): Promise<void> {
    this.calls.push(`delete ${id}`);
    if (!this.vms.delete(id)) throw notFound(`no VM ${id}`);
  }
  async list(): Promise<VirtualMachine[]> {
    return [...this.vms.values()];
  }
  async close(): Promise<void> {
    this.calls.push('close');
  }
}

async function daemon(t: Test): Promise<{ hv: MemoryHypervisor; socket: string }> {
  const hv = new MemoryHypervisor();
  const socket = join(tmpDir(t, { prefix: 'nesting-api' }), 'run', 'nesting.sock');
  const server = await serve(socket, hv);
  t.teardown(() => server.close());
  return { hv, socket };
}

async function client(t: Test, to: Parameters<typeof connect>[0]): Promise<NestingClient> {
  const c = await connect(to);
  t.teardown(() => c.close());
  return c;
}

t.test('Init state: not initialized before Init, already initialized after it, again after Shutdown', async (t) => {
  const { hv, socket } = await daemon(t);
  const c = await client(t, unixSocketDialer(socket));
  await t.rejects(c.list(), NotInitializedError);
  const err = await c.create('img').catch((e: unknown) => e);
  t.type(err, NotInitializedError);
  t.equal((err as NestingError).status, grpc.status.FAILED_PRECONDITION);
  t.match((err as Error).message, /^creating a VM from image "img": not initialized$/);
  await c.init({ memory: 256 });
  t.same(hv.config, { memory: 256 });
  const again = await c.init('{}').catch((e: unknown) => e);
  t.type(again, AlreadyInitializedError);
  t.equal((again as NestingError).status, grpc.status.FAILED_PRECONDITION);
  t.same(await c.list(), []);
  await c.shutdown();
  await t.rejects(c.list(), NotInitializedError);
  await c.init(new TextEncoder().encode(''));
  t.same(hv.calls, ['init {"memory":256}', 'shutdown', 'init {}']);
});

t.test('Init with a config that is not a JSON object is InvalidArgument naming what was expected', async (t) => {
  const { socket } = await daemon(t);
  const c = await client(t, socket);
  const err = (await c.init('[1]').catch((e: unknown) => e)) as NestingError;
  t.equal(err.status, grpc.status.INVALID_ARGUMENT);
  t.match(err.message, /Init config: expected a JSON object, got an array/);
  const bad = (await c.init('{').catch((e: unknown) => e)) as NestingError;
  t.match(bad.message, /Init config: expected JSON/);
  t.equal(bad.code, 'invalid_argument');
});

t.test('lazy init: a call on a fresh daemon sends Init with the config and is retried once', async (t) => {
  const { hv, socket } = await daemon(t);
  const raw = await client(t, `unix://${socket}`);
  const c = lazyInitClient(raw, { image_dir: '/x' });
  t.same(await c.list(), []);
  t.same(hv.calls, ['init {"image_dir":"/x"}']);
  // already initialized (by another client in between) is ignored: shut down, init from elsewhere, call again
  const { vm } = await c.create('img', 0);
  t.equal(vm.name, 'img');
  await raw.shutdown();
  const other = await client(t, socket);
  await other.init('{"other":true}');
  t.equal((await c.list()).length, 0);
  t.same(hv.calls.filter((x) => x.startsWith('init')), ['init {"image_dir":"/x"}', 'init {"other":true}']);
});

t.test('slots: a Create in a slot replaces the VM left there and reports its id; out of range is InvalidArgument', async (t) => {
  const { hv, socket } = await daemon(t);
  const c = await client(t, unixSocketDialer(socket));
  await c.init({});
  const first = await c.create('img', 1);
  t.equal(first.stompedVmId, undefined);
  const second = await c.create('img', 1);
  t.equal(second.stompedVmId, first.vm.id);
  t.same((await c.list()).map((v) => v.id), [second.vm.id]);
  const other = await c.create('img', 0);
  t.equal(other.stompedVmId, undefined, 'another slot is not touched');
  // a VM deleted in between is not reported as stomped
  await c.delete(second.vm.id);
  const third = await c.create('img', 1);
  t.equal(third.stompedVmId, undefined);
  const noSlot = await c.create('img');
  t.equal(noSlot.stompedVmId, undefined);
  const none = await c.create('img', -1);
  t.equal(none.stompedVmId, undefined, '-1 is "no slot", as the runner sends it');
  for (const slot of [2, -2, 99]) {
    const err = (await c.create('img', slot).catch((e: unknown) => e)) as NestingError;
    t.type(err, NestingError);
    t.equal(err.status, grpc.status.INVALID_ARGUMENT);
    t.match(err.message, new RegExp(`slot ${slot} is out of range: this daemon has 2 slot\\(s\\) \\(0–1; config key "slots"\\)`));
  }
  t.equal(hv.calls.filter((c) => c === 'create img').length, 6, 'no Create out of range reached the hypervisor');
});

t.test('hypervisor errors travel as their statuses (unknown image, unknown id)', async (t) => {
  const { socket } = await daemon(t);
  const c = await client(t, socket);
  await c.init({});
  const img = (await c.create('missing').catch((e: unknown) => e)) as NestingError;
  t.equal(img.status, grpc.status.INVALID_ARGUMENT);
  t.equal(img.message, 'creating a VM from image "missing": unknown image "missing"');
  const del = (await c.delete('nope').catch((e: unknown) => e)) as NestingError;
  t.equal(del.status, grpc.status.NOT_FOUND);
  t.equal(del.code, 'not_found');
  t.equal(del.message, 'deleting a VM (nope): no VM nope');
});

t.test('the dialer: every gRPC connection is a stream the dialer opened; a failing dialer is named in the error', async (t) => {
  const { socket } = await daemon(t);
  let dials = 0;
  // A stream that is not a socket: a pair of PassThroughs joined to the unix socket, as an SSH channel would be.
  const c = await client(t, async () => {
    dials++;
    const s = netConnect(socket);
    await new Promise((resolve, reject) => s.once('connect', resolve).once('error', reject));
    const toDaemon = new PassThrough();
    const fromDaemon = new PassThrough();
    toDaemon.pipe(s);
    s.pipe(fromDaemon);
    const { Duplex } = await import('node:stream');
    const d = Duplex.from({ readable: fromDaemon, writable: toDaemon });
    d.on('close', () => s.destroy());
    return d;
  });
  await c.init({});
  await c.create('img');
  t.equal((await c.list()).length, 1);
  t.equal(dials, 1, 'one connection carries every call');

  const failing = await client(t, () => Promise.reject(new Error('ssh: channel open failed: no such socket')));
  const err = (await failing.list().catch((e: unknown) => e)) as NestingError;
  t.equal(err.status, grpc.status.UNAVAILABLE);
  t.equal(err.message, 'listing VMs: connecting to the nesting daemon: ssh: channel open failed: no such socket');
});

t.test('serve refuses a socket another daemon answers on', async (t) => {
  const { socket } = await daemon(t);
  await t.rejects(serve(socket, new MemoryHypervisor()), /another daemon is serving on it/);
});

t.test('default socket path and nesting_host targets', async (t) => {
  t.equal(defaultSocketPath({ HOME: '/Users/ec2-user' }, 'darwin'), '/Users/ec2-user/Library/Application Support/nesting.sock');
  t.equal(defaultSocketPath({ HOME: '/home/u' }, 'linux'), '/home/u/.config/nesting.sock');
  t.equal(defaultSocketPath({ HOME: '/home/u', XDG_CONFIG_HOME: '/cfg' }, 'linux'), '/cfg/nesting.sock');
  t.equal(socketPathOfTarget('unix:///Users/ec2-user/Library/Application Support/nesting.sock'), '/Users/ec2-user/Library/Application Support/nesting.sock');
  t.equal(socketPathOfTarget('unix:/run/n.sock'), '/run/n.sock');
  t.equal(socketPathOfTarget('/run/n.sock'), '/run/n.sock');
  t.throws(() => socketPathOfTarget('dns:///host:1234'), /expected unix:\/\/\/path\/to\/socket/);
});
