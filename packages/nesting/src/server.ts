import { chmod, mkdir, rm, stat } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { dirname } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { RunnerError, nullLogger, type Logger } from '@fleetrunner/common';
import type { nestingV1 } from '@fleetrunner/proto';
import { ALREADY_INITIALIZED_MESSAGE, NOT_INITIALIZED_MESSAGE, NestingStatus, invalidArgument, statusOf } from './errors.js';
import { NESTING, nestingServiceDefinition, optionalField } from './grpc-methods.js';
import type { Hypervisor, HypervisorInfo, VirtualMachine } from './hypervisor.js';

/** Options of {@link serve}. */
export interface ServeOptions {
  logger?: Logger;
  /** Init configuration applied at start (as if Init had been called with it), e.g. from `serve -config`. */
  initialConfig?: Record<string, unknown>;
}

/** A running daemon server. */
export interface NestingServer {
  readonly socketPath: string;
  /** Stops serving, deletes every VM (hypervisor `close`) and removes the socket. */
  close(): Promise<void>;
}

/** The slot a CreateRequest names; the runner sends -1 for "no slot". */
function slotOf(request: nestingV1.CreateRequest, info: HypervisorInfo): number | undefined {
  const slot = optionalField(request, 'slot');
  if (slot === undefined || slot === -1) return undefined;
  if (!Number.isInteger(slot) || slot < 0 || slot >= info.slots) {
    const range = info.slots > 0 ? `0–${info.slots - 1}` : 'none';
    throw invalidArgument(`slot ${slot} is out of range: this daemon has ${info.slots} slot(s) (${range}; config key "slots")`);
  }
  return slot;
}

/**
 * The daemon's API state over one hypervisor: the Init state (FailedPrecondition `not initialized` before Init,
 * `already initialized` on a second one) and the slots (a Create in a slot replaces the VM left there).
 */
export class NestingService {
  private info: HypervisorInfo | undefined;
  /** Slot → id of the VM created in it. */
  private readonly slots = new Map<number, string>();
  /** Per slot, the Create in progress: Creates of one slot run one after another. */
  private readonly slotQueue = new Map<number, Promise<unknown>>();
  private initializing: Promise<unknown> | undefined;

  constructor(
    readonly hypervisor: Hypervisor,
    private readonly logger: Logger = nullLogger,
  ) {}

  get initialized(): boolean {
    return this.info !== undefined;
  }

  private requireInit(): HypervisorInfo {
    if (!this.info) throw new NestingStatus(grpc.status.FAILED_PRECONDITION, NOT_INITIALIZED_MESSAGE);
    return this.info;
  }

  async init(config: Record<string, unknown>, signal: AbortSignal): Promise<void> {
    if (this.info || this.initializing) throw new NestingStatus(grpc.status.FAILED_PRECONDITION, ALREADY_INITIALIZED_MESSAGE);
    const p = this.hypervisor.init(config, signal);
    this.initializing = p;
    try {
      this.info = await p;
      this.logger.info('initialized', { hypervisor: this.hypervisor.name, slots: this.info.slots });
    } finally {
      this.initializing = undefined;
    }
  }

  async shutdown(signal: AbortSignal): Promise<void> {
    this.requireInit();
    await this.hypervisor.shutdown(signal);
    this.info = undefined;
    this.slots.clear();
    this.logger.info('shut down', { hypervisor: this.hypervisor.name });
  }

  async create(request: nestingV1.CreateRequest, signal: AbortSignal): Promise<{ vm: VirtualMachine; stompedVmId?: string }> {
    const info = this.requireInit();
    if (request.name === '') throw invalidArgument('name: expected the image to create the VM from, got ""');
    const slot = slotOf(request, info);
    if (slot === undefined) return { vm: await this.hypervisor.create(request.name, signal) };
    const previous = this.slotQueue.get(slot) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() => this.createInSlot(request.name, slot, signal));
    this.slotQueue.set(slot, run);
    try {
      return await run;
    } finally {
      if (this.slotQueue.get(slot) === run) this.slotQueue.delete(slot);
    }
  }

  private async createInSlot(name: string, slot: number, signal: AbortSignal): Promise<{ vm: VirtualMachine; stompedVmId?: string }> {
    let stompedVmId: string | undefined;
    const left = this.slots.get(slot);
    if (left !== undefined) {
      this.slots.delete(slot);
      const existing = await this.hypervisor.list(signal);
      if (existing.some((vm) => vm.id === left)) {
        await this.hypervisor.delete(left, signal);
        stompedVmId = left;
        this.logger.info('replaced the VM left in the slot', { slot, vm: left });
      }
    }
    const vm = await this.hypervisor.create(name, signal);
    this.slots.set(slot, vm.id);
    return stompedVmId === undefined ? { vm } : { vm, stompedVmId };
  }

  async delete(id: string, signal: AbortSignal): Promise<void> {
    this.requireInit();
    if (id === '') throw invalidArgument('id: expected a VM id, got ""');
    await this.hypervisor.delete(id, signal);
    for (const [slot, vm] of this.slots) if (vm === id) this.slots.delete(slot);
  }

  async list(signal: AbortSignal): Promise<VirtualMachine[]> {
    this.requireInit();
    return this.hypervisor.list(signal);
  }
}

/** Parses InitRequest.config: JSON of an object; empty means `{}`. */
export function parseInitConfig(bytes: Uint8Array): Record<string, unknown> {
  const text = Buffer.from(bytes).toString('utf8').trim();
  if (text === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw invalidArgument(`Init config: expected JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidArgument(`Init config: expected a JSON object, got ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}`);
  }
  return value as Record<string, unknown>;
}

type Handler<Q, R> = (request: Q, signal: AbortSignal) => Promise<R>;

function unary<Q, R>(logger: Logger, method: string, handler: Handler<Q, R>): grpc.handleUnaryCall<Q, R> {
  return (call, callback) => {
    const controller = new AbortController();
    const onCancel = (): void => controller.abort(new RunnerError('aborted', `${method}: call cancelled by the client`));
    call.once('cancelled', onCancel);
    Promise.resolve()
      .then(() => handler(call.request, controller.signal))
      .then(
        (response) => {
          call.off('cancelled', onCancel);
          callback(null, response);
        },
        (err: unknown) => {
          call.off('cancelled', onCancel);
          const status = statusOf(err);
          if (status.code === grpc.status.INTERNAL || status.code === grpc.status.UNKNOWN) logger.error(`${method} failed`, { error: status.details });
          else logger.info(`${method} refused`, { code: grpc.status[status.code], error: status.details });
          callback({ code: status.code, details: status.details });
        },
      );
  };
}

/** The grpc-js implementation of `nesting.Nesting` over a {@link NestingService}. */
export function nestingImplementation(service: NestingService, logger: Logger = nullLogger): grpc.UntypedServiceImplementation {
  const impl: { [K in keyof typeof NESTING]: unknown } = {
    init: unary<nestingV1.InitRequest, nestingV1.InitResponse>(logger, 'Init', async (req, signal) => {
      await service.init(parseInitConfig(req.config), signal);
      return {};
    }),
    shutdown: unary<nestingV1.ShutdownRequest, nestingV1.ShutdownResponse>(logger, 'Shutdown', async (_req, signal) => {
      await service.shutdown(signal);
      return {};
    }),
    create: unary<nestingV1.CreateRequest, nestingV1.CreateResponse>(logger, 'Create', async (req, signal) => {
      const { vm, stompedVmId } = await service.create(req, signal);
      return (stompedVmId === undefined ? { vm } : { vm, stompedVmId }) as nestingV1.CreateResponse;
    }),
    delete: unary<nestingV1.DeleteRequest, nestingV1.DeleteResponse>(logger, 'Delete', async (req, signal) => {
      await service.delete(req.id, signal);
      return {};
    }),
    list: unary<nestingV1.ListRequest, nestingV1.ListResponse>(logger, 'List', async (_req, signal) => ({ vms: await service.list(signal) })),
  };
  return impl as unknown as grpc.UntypedServiceImplementation;
}

/** True when something accepts connections on the unix socket `path`. */
function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Serves the nesting API for `hypervisor` on the unix socket `socketPath` (its directory is created, mode 0700;
 * the socket is 0600). A stale socket file is replaced; a socket another daemon answers on is refused.
 */
export async function serve(socketPath: string, hypervisor: Hypervisor, options: ServeOptions = {}): Promise<NestingServer> {
  const logger = options.logger ?? nullLogger;
  await mkdir(dirname(socketPath), { recursive: true, mode: 0o700 });
  const existing = await stat(socketPath).catch(() => undefined);
  if (existing) {
    if (!existing.isSocket()) throw new RunnerError('invalid_argument', `socket ${socketPath}: a file that is not a socket is in the way`);
    if (await socketAnswers(socketPath)) throw new RunnerError('unavailable', `socket ${socketPath}: another daemon is serving on it`);
    await rm(socketPath, { force: true });
  }
  const service = new NestingService(hypervisor, logger);
  if (options.initialConfig) await service.init(options.initialConfig, new AbortController().signal);
  const server = new grpc.Server();
  server.addService(nestingServiceDefinition(), nestingImplementation(service, logger));
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix:${socketPath}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(RunnerError.wrap(`listening on ${socketPath}`, err, 'unavailable')) : resolve())),
  );
  await chmod(socketPath, 0o600);
  logger.info('serving', { socket: socketPath, hypervisor: hypervisor.name });
  let closing: Promise<void> | undefined;
  return {
    socketPath,
    close: () =>
      (closing ??= (async () => {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => server.forceShutdown(), 2000);
          server.tryShutdown(() => {
            clearTimeout(timer);
            resolve();
          });
        });
        await hypervisor.close();
        await rm(socketPath, { force: true });
      })()),
  };
}
