import type { ChildProcess } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import { RunnerError, deferred, linkSignals, type Logger } from '@fleetrunner/common';
import { goplugin, healthV1 } from '@fleetrunner/proto';
import { callUnary, isServiceError, methodDefinition } from './grpc-service.js';
import { killGroup, trackPlugin, untrackPlugin } from './live-plugins.js';
import { LineSplitter, StderrRelay } from './log-relay.js';
import { removeStaleSocket } from './socket.js';

/** Lifecycle of a plugin process as the host sees it. */
export type PluginState = 'starting' | 'running' | 'stopping' | 'exited';

/** How a plugin process ended. */
export interface PluginExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A running plugin process and the gRPC connection to it. */
export interface PluginClient {
  /** The plugin binary's path. */
  readonly path: string;
  /** Name used in logs (`plugin` field); default the binary's base name. */
  readonly name: string;
  readonly pid: number;
  /** The app protocol version the plugin chose. */
  readonly appVersion: number;
  /** Where the plugin listens (a unix socket path, or host:port for tcp); '' until connected. */
  readonly address: string;
  readonly state: PluginState;
  /** A grpc-js client on `unix://<socket>` for the app services (see `callUnary`). */
  readonly client: grpc.Client;
  /** Settles once the process has exited and been reaped. */
  readonly exited: Promise<PluginExit>;
  /**
   * Aborts when the process exits: with a `plugin_crashed` RunnerError naming the path and exit code/signal when
   * unexpected, or `unavailable` after `stop()`/`kill()`. Link it into every call so none can hang.
   */
  readonly deadSignal: AbortSignal;
  /** `grpc.health.v1.Health/Check` for service `plugin`; rejects unless SERVING. */
  ping(options?: { signal?: AbortSignal }): Promise<void>;
  /**
   * Graceful then forced stop, idempotent: `GRPCController/Shutdown`, wait up to `stopTimeoutMs` (default 2000)
   * for the exit, else SIGKILL the process group; always reaps. Aborting `signal` skips to the SIGKILL.
   */
  stop(options?: { signal?: AbortSignal }): Promise<void>;
  /** SIGKILLs the process group at once and waits for the reap. */
  kill(): Promise<void>;
  /**
   * Turns a failed call into the plugin's death when that is what happened: a transport error (UNAVAILABLE,
   * CANCELLED, INTERNAL) may arrive just before the exit is seen, so it waits up to `withinMs` (default 2000)
   * for the exit and then returns the `deadSignal` reason; otherwise returns `err` unchanged.
   */
  explainError(err: unknown, withinMs?: number): Promise<unknown>;
}

const TRANSPORT_CODES = new Set<number>([grpc.status.UNAVAILABLE, grpc.status.CANCELLED, grpc.status.INTERNAL]);

/** The host-side process: owns the child, its pipes, its log relay and its gRPC connection. */
export class PluginProcess implements PluginClient {
  state: PluginState = 'starting';
  appVersion = 0;
  address = '';
  readonly exited: Promise<PluginExit>;
  readonly relay: StderrRelay;
  /** Resolves once stderr has been fully read. */
  readonly stderrDone: Promise<void>;
  private connection: grpc.Client | undefined;
  private readonly dead = new AbortController();
  private readonly exitDeferred = deferred<PluginExit>();
  private readonly streams: grpc.ClientReadableStream<unknown>[] = [];
  private expectedExit = false;
  private stopPromise: Promise<void> | undefined;
  private socketPath: string | undefined;

  constructor(
    private readonly child: ChildProcess,
    readonly path: string,
    readonly name: string,
    private readonly logger: Logger,
    private readonly stopTimeoutMs: number,
  ) {
    this.exited = this.exitDeferred.promise;
    this.relay = new StderrRelay(logger);
    const stderrDone = deferred<void>();
    this.stderrDone = stderrDone.promise;
    child.stderr?.on('data', (d: Buffer) => this.relay.push(d));
    child.stderr?.once('close', () => {
      this.relay.end();
      stderrDone.resolve();
    });
    child.once('exit', (code, signal) => this.onExit(code, signal));
    // A dead child's pipes and late spawn/kill failures must never become unhandled 'error' events in the host.
    child.on('error', (err) => this.logger.debug('plugin process error', { error: err.message }));
    for (const stream of [child.stdin, child.stdout, child.stderr]) stream?.on('error', () => {});
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get client(): grpc.Client {
    if (!this.connection) throw new RunnerError('unavailable', `plugin ${this.path} is not connected`);
    return this.connection;
  }

  get deadSignal(): AbortSignal {
    return this.dead.signal;
  }

  /** Called by startPlugin once the handshake is accepted and the channel is ready. */
  attach(client: grpc.Client, appVersion: number, address: string, socketPath?: string): void {
    this.address = address;
    this.socketPath = socketPath;
    trackPlugin(this.pid, socketPath);
    this.connection = client;
    this.appVersion = appVersion;
    this.state = 'running';
    this.openTransportStreams(client);
  }

  async ping(options: { signal?: AbortSignal } = {}): Promise<void> {
    const linked = linkSignals(options.signal, this.dead.signal);
    try {
      const res = await callUnary(this.client, healthV1.HealthService.check, { service: 'plugin' }, { signal: linked.signal });
      if (res.status !== healthV1.HealthCheckResponse_ServingStatus.SERVING) {
        throw new RunnerError('unavailable', `plugin ${this.path} reports health status ${res.status}`);
      }
    } catch (err) {
      const cause = await this.explainError(err);
      throw RunnerError.wrap('pinging plugin', cause, cause instanceof RunnerError ? undefined : 'unavailable');
    } finally {
      linked.dispose();
    }
  }

  stop(options: { signal?: AbortSignal } = {}): Promise<void> {
    this.stopPromise ??= this.doStop(options.signal);
    return this.stopPromise;
  }

  async kill(): Promise<void> {
    if (this.state !== 'exited') {
      this.expectedExit = true;
      killGroup(this.pid, 'SIGKILL');
    }
    await this.exited;
  }

  async explainError(err: unknown, withinMs = 2000): Promise<unknown> {
    if (this.dead.signal.aborted) return this.dead.signal.reason;
    if (!isServiceError(err) || !TRANSPORT_CODES.has(err.code)) return err;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(() => resolve(), withinMs);
      timer.unref();
    });
    try {
      await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
    return this.dead.signal.aborted ? this.dead.signal.reason : err;
  }

  private async doStop(signal: AbortSignal | undefined): Promise<void> {
    if (this.state === 'exited') return;
    this.expectedExit = true;
    this.state = 'stopping';
    const linked = linkSignals(signal, this.dead.signal);
    const timer = setTimeout(() => linked.abort(new RunnerError('timeout', 'plugin did not exit in time')), this.stopTimeoutMs);
    timer.unref();
    try {
      if (this.connection) {
        const shutdown = goplugin.GRPCControllerService.shutdown;
        await callUnary(this.connection, shutdown, {}, { signal: linked.signal, deadlineMs: this.stopTimeoutMs }).catch(() => {});
      }
      await new Promise<void>((resolve) => {
        if (linked.signal.aborted) return resolve();
        linked.signal.addEventListener('abort', () => resolve(), { once: true });
      });
    } finally {
      clearTimeout(timer);
      linked.dispose();
    }
    if (!this.dead.signal.aborted) {
      this.logger.warn('plugin failed to exit gracefully, killing it', { path: this.path, pid: this.pid });
      killGroup(this.pid, 'SIGKILL');
    }
    await this.exited;
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    const wasStarting = this.state === 'starting';
    this.state = 'exited';
    const how = signal ? `killed by signal ${signal}` : `exit code ${code}`;
    const details = { path: this.path, pid: this.pid, code, signal };
    let reason: RunnerError;
    if (this.expectedExit) {
      reason = new RunnerError('unavailable', `plugin ${this.path} stopped (${how})`, { details });
      this.logger.debug('plugin exited', details);
    } else {
      reason = new RunnerError('plugin_crashed', `plugin ${this.path} exited unexpectedly (${how})`, { details });
      if (!wasStarting) this.logger.error('plugin exited unexpectedly', details);
      // Whatever it left in its process group goes with it.
      killGroup(this.pid, 'SIGKILL');
    }
    for (const s of this.streams.splice(0)) s.cancel();
    this.connection?.close();
    this.child.stdin?.destroy();
    untrackPlugin(this.pid);
    if (this.socketPath) removeStaleSocket(this.socketPath);
    this.dead.abort(reason);
    this.exitDeferred.resolve({ code, signal });
  }

  private openTransportStreams(client: grpc.Client): void {
    const brokerDef = methodDefinition(goplugin.GRPCBrokerService.startStream);
    const broker = client.makeBidiStreamRequest(brokerDef.path, brokerDef.requestSerialize, brokerDef.responseDeserialize);
    broker.on('data', () => {});
    broker.on('error', () => {});
    this.streams.push(broker);

    const stdioDef = methodDefinition(goplugin.GRPCStdioService.streamStdio);
    const stdio = client.makeServerStreamRequest(stdioDef.path, stdioDef.requestSerialize, stdioDef.responseDeserialize, {});
    const lines = new LineSplitter((line) => this.logger.debug(line, { stream: 'stdout' }));
    stdio.on('data', (d: goplugin.StdioData) => lines.push(Buffer.from(d.data)));
    stdio.on('error', (err: unknown) => {
      if (isServiceError(err) && err.code !== grpc.status.CANCELLED && !this.dead.signal.aborted) {
        this.logger.warn('plugin stdio stream unavailable', { error: err.details });
      }
    });
    stdio.on('end', () => lines.end());
    this.streams.push(stdio);
  }
}

