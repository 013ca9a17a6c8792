import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { abortError } from '@fleetrunner/common';
import type { nestingV1 } from '@fleetrunner/proto';
import { NestingError, fromServiceError, isServiceError } from './errors.js';
import { NESTING, methodDefinition, optionalField } from './grpc-methods.js';
import type { VirtualMachine } from './hypervisor.js';
import { socketPathOfTarget } from './socket-path.js';

/**
 * Opens one byte stream to the daemon's socket: a unix socket connection, or a channel through the host's SSH
 * connection (ssh2's `openssh_forwardOutStreamLocal`). Called for every connection the gRPC channel makes;
 * `signal` aborts when the client closes.
 */
export type StreamDialer = (signal: AbortSignal) => Promise<Duplex> | Duplex;

/** Options of one call. */
export interface NestingCallOptions {
  signal?: AbortSignal;
  /** Deadline of the call in milliseconds; none by default. */
  timeoutMs?: number;
}

/** What Create returns. */
export interface CreateResult {
  vm: VirtualMachine;
  /** The VM this Create replaced in its slot. */
  stompedVmId?: string;
}

/** The nesting API, as a client sees it. */
export interface NestingApi {
  /** Sends the daemon its configuration (JSON text, bytes, or an object to encode). */
  init(config: Uint8Array | string | Record<string, unknown>, options?: NestingCallOptions): Promise<void>;
  shutdown(options?: NestingCallOptions): Promise<void>;
  /** Creates a VM from `image`, in `slot` when given (a VM left in that slot is replaced). */
  create(image: string, slot?: number, options?: NestingCallOptions): Promise<CreateResult>;
  delete(id: string, options?: NestingCallOptions): Promise<void>;
  list(options?: NestingCallOptions): Promise<VirtualMachine[]>;
}

/** A connected client; `close` ends the channel (and the local relay of a dialer). */
export interface NestingClient extends NestingApi {
  close(): Promise<void>;
}

/**
 * A unix socket in a private temporary directory that relays every connection to a stream from the dialer, so
 * grpc-js (which only dials sockets itself) can reach the daemon through any duplex stream.
 */
class DialerRelay {
  private server: Server | undefined;
  private dir = '';
  private readonly open = new Set<Socket | Duplex>();
  private readonly controller = new AbortController();
  /** The last dial failure, to explain the UNAVAILABLE status grpc-js then reports. */
  lastError: Error | undefined;

  constructor(private readonly dialer: StreamDialer) {}

  async start(): Promise<string> {
    this.dir = await mkdtemp(join(tmpdir(), 'nesting-client-'));
    const path = join(this.dir, 'relay.sock');
    const server = createServer({ pauseOnConnect: true }, (local) => void this.relay(local));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return path;
  }

  private async relay(local: Socket): Promise<void> {
    this.open.add(local);
    local.once('close', () => this.open.delete(local));
    local.on('error', () => local.destroy());
    let remote: Duplex;
    try {
      remote = await this.dialer(this.controller.signal);
    } catch (err) {
      this.lastError = err instanceof Error ? err : new Error(String(err));
      local.destroy();
      return;
    }
    if (this.controller.signal.aborted || local.destroyed) {
      remote.destroy();
      local.destroy();
      return;
    }
    this.lastError = undefined;
    this.open.add(remote);
    const end = (): void => {
      local.destroy();
      remote.destroy();
    };
    remote.once('close', () => {
      this.open.delete(remote);
      end();
    });
    remote.on('error', (err: Error) => {
      this.lastError = err;
      end();
    });
    local.once('close', end);
    local.pipe(remote);
    remote.pipe(local);
    local.resume();
  }

  async close(): Promise<void> {
    this.controller.abort(new NestingError(grpc.status.CANCELLED, 'nesting client closed'));
    for (const s of this.open) s.destroy();
    if (this.server) await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }
}

const CALL_CONTEXT: Record<keyof typeof NESTING, string> = {
  init: 'initializing the nesting daemon',
  shutdown: 'shutting the nesting daemon down',
  create: 'creating a VM',
  delete: 'deleting a VM',
  list: 'listing VMs',
};

class Client implements NestingClient {
  private readonly grpcClient: grpc.Client;

  constructor(
    target: string,
    private readonly relay: DialerRelay,
  ) {
    this.grpcClient = new grpc.Client(target, grpc.credentials.createInsecure(), {
      // One connection attempt per call at most a second apart, so a daemon that comes up is found quickly.
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 1000,
    });
  }

  private call<Q, R>(key: keyof typeof NESTING, request: Partial<Q>, context: string, options: NestingCallOptions = {}): Promise<R> {
    const method = NESTING[key] as unknown as Parameters<typeof methodDefinition<Q, R>>[0];
    const def = methodDefinition(method);
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(abortError(signal));
    return new Promise<R>((resolve, reject) => {
      let settled = false;
      const callOptions: grpc.CallOptions = {};
      if (options.timeoutMs !== undefined) callOptions.deadline = new Date(Date.now() + options.timeoutMs);
      const onAbort = (): void => {
        if (settled) return;
        settled = true;
        call.cancel();
        reject(abortError(signal!));
      };
      const call = this.grpcClient.makeUnaryRequest<Q, R>(method.path, def.requestSerialize, def.responseDeserialize, request as Q, new grpc.Metadata(), callOptions, (err, value) => {
        signal?.removeEventListener('abort', onAbort);
        if (settled) return;
        settled = true;
        if (err) reject(this.translate(context, err));
        else resolve(value as R);
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private translate(context: string, err: unknown): NestingError {
    if (isServiceError(err) && err.code === grpc.status.UNAVAILABLE && this.relay.lastError) {
      return new NestingError(grpc.status.UNAVAILABLE, `${context}: connecting to the nesting daemon: ${this.relay.lastError.message}`, { cause: err });
    }
    return fromServiceError(context, err);
  }

  async init(config: Uint8Array | string | Record<string, unknown>, options?: NestingCallOptions): Promise<void> {
    const bytes = config instanceof Uint8Array ? config : new TextEncoder().encode(typeof config === 'string' ? config : JSON.stringify(config));
    await this.call<nestingV1.InitRequest, nestingV1.InitResponse>('init', { config: bytes }, CALL_CONTEXT.init, options);
  }

  async shutdown(options?: NestingCallOptions): Promise<void> {
    await this.call('shutdown', {}, CALL_CONTEXT.shutdown, options);
  }

  async create(image: string, slot?: number, options?: NestingCallOptions): Promise<CreateResult> {
    const request: Partial<nestingV1.CreateRequest> = slot === undefined ? { name: image } : { name: image, slot };
    const context = `${CALL_CONTEXT.create} from image ${JSON.stringify(image)}${slot === undefined ? '' : ` in slot ${slot}`}`;
    const res = await this.call<nestingV1.CreateRequest, nestingV1.CreateResponse>('create', request, context, options);
    if (!res.vm || res.vm.id === '') throw new NestingError(grpc.status.INTERNAL, `${context}: the daemon answered without a VM`);
    const vm = { id: res.vm.id, name: res.vm.name, addr: res.vm.addr };
    const stomped = optionalField(res, 'stompedVmId');
    return stomped ? { vm, stompedVmId: stomped } : { vm };
  }

  async delete(id: string, options?: NestingCallOptions): Promise<void> {
    await this.call<nestingV1.DeleteRequest, nestingV1.DeleteResponse>('delete', { id }, `${CALL_CONTEXT.delete} (${id})`, options);
  }

  async list(options?: NestingCallOptions): Promise<VirtualMachine[]> {
    const res = await this.call<nestingV1.ListRequest, nestingV1.ListResponse>('list', {}, CALL_CONTEXT.list, options);
    return res.vms.map((vm) => ({ id: vm.id, name: vm.name, addr: vm.addr }));
  }

  async close(): Promise<void> {
    this.grpcClient.close();
    await this.relay.close();
  }
}

/**
 * A client of the nesting daemon. `to` is either the daemon's address as `nesting_host` names it
 * (`unix:///path/to/nesting.sock` or a socket path, dialled directly) or a {@link StreamDialer} that opens a
 * stream to the daemon, e.g. through the host's SSH connection. Nothing is dialled until the first call. Either
 * way grpc-js talks to a relay socket in a private temporary directory that hands each connection to the dialer.
 */
export async function connect(to: string | StreamDialer): Promise<NestingClient> {
  // A socket path goes through the relay as well, so a daemon that is not there is named the same way.
  const relay = new DialerRelay(typeof to === 'string' ? unixSocketDialer(socketPathOfTarget(to)) : to);
  const path = await relay.start();
  return new Client(`unix:${path}`, relay);
}

/** A dialer that connects to a unix socket on this machine. */
export function unixSocketDialer(path: string): StreamDialer {
  return () =>
    new Promise<Duplex>((resolve, reject) => {
      const s = netConnect(path);
      s.once('connect', () => {
        s.off('error', reject);
        resolve(s);
      });
      s.once('error', reject);
    });
}
