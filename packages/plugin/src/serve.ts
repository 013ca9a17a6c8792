import { writeSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { deferred, type Logger } from '@fleetrunner/common';
import { goplugin, healthV1 } from '@fleetrunner/proto';
import { DEFAULT_APP_VERSIONS, DEFAULT_MAGIC_COOKIE, ENV, GRPC_OPTIONS, type MagicCookie } from './constants.js';
import { serviceDefinition, unaryService, type GrpcService } from './grpc-service.js';
import { formatHandshake } from './handshake.js';
import { createHclogLogger } from './hclog.js';
import { watchHost } from './lifeline.js';
import { applySocketGroup, freshSocketPath, removeSocket } from './socket.js';
import { StdoutCapture } from './stdout-capture.js';

/** Why a plugin stopped serving. */
export type StopReason = 'controller_shutdown' | 'sigterm' | 'host_gone';

/** Options of {@link serve}. */
export interface ServeOptions {
  /** The application services (e.g. the fleeting instance group). */
  services: readonly GrpcService[];
  /** Default {@link DEFAULT_MAGIC_COOKIE}; must match what the host sets. */
  cookie?: MagicCookie;
  /** App protocol versions this plugin serves; default [1]. The highest one the host also accepts is used. */
  appVersions?: readonly number[];
  /** Default: hclog JSON lines on stderr ({@link createHclogLogger}). */
  logger?: Logger;
  /** Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Runs after the server stopped and before the process exits (e.g. releasing resources on host death). */
  onStop?: (reason: StopReason) => Promise<void>;
  /** Exit the process (code 0) once stopped, as a Go plugin's main returns; default true. */
  exitOnStop?: boolean;
  /** Bytes of stdout kept until the host subscribes to the stdio stream; default 64 KiB. */
  stdoutBufferBytes?: number;
}

const NOT_A_HOST_MESSAGE =
  'This binary is a plugin. These are not meant to be executed directly.\n' +
  'Please execute the program that consumes these plugins, which will\n' +
  'load any plugins automatically\n';

/** The app version to serve: the highest we serve that the host lists, else our lowest (the host rejects it). */
export function pickAppVersion(served: readonly number[], hostList: string | undefined): number {
  const host = new Set((hostList ?? '').split(',').map((s) => Number(s.trim())));
  const sorted = [...served].sort((a, b) => b - a);
  return sorted.find((v) => host.has(v)) ?? sorted[sorted.length - 1] ?? 1;
}

/**
 * Serves a plugin process the go-plugin way: checks the magic cookie (mismatch: message on stderr, exit 1),
 * listens on a fresh unix socket, registers health, controller, stdio and broker services beside `services`,
 * prints the one handshake line, ignores SIGINT/SIGQUIT/SIGHUP, stops on SIGTERM, on `GRPCController/Shutdown`
 * and when the host dies. Resolves once stopped (then exits unless `exitOnStop` is false).
 *
 * AutoMTLS is not supported: when the host sets `PLUGIN_CLIENT_CERT` the plugin says so on stderr and exits 1.
 */
export async function serve(options: ServeOptions): Promise<void> {
  const env = options.env ?? process.env;
  const cookie = options.cookie ?? DEFAULT_MAGIC_COOKIE;
  if (env[cookie.key] !== cookie.value) {
    process.stderr.write(NOT_A_HOST_MESSAGE);
    process.exit(1);
  }
  const logger = options.logger ?? createHclogLogger();
  if (env[ENV.clientCert]) {
    logger.error('AutoMTLS not supported: the host set PLUGIN_CLIENT_CERT; start this plugin without AutoMTLS');
    process.exit(1);
  }
  const appVersion = pickAppVersion(options.appVersions ?? DEFAULT_APP_VERSIONS, env[ENV.protocolVersions]);
  const socketPath = freshSocketPath(env);
  removeSocket(socketPath);

  const stopped = deferred<void>();
  const capture = new StdoutCapture(options.stdoutBufferBytes);
  const openStreams = new Set<grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>>();
  const server = new grpc.Server({ ...GRPC_OPTIONS });
  let stopping = false;
  const cleanups: (() => void)[] = [];

  const stop = (reason: StopReason): void => {
    if (stopping) return;
    stopping = true;
    logger.debug('plugin stopping', { reason });
    for (const c of cleanups.splice(0)) c();
    for (const s of openStreams) s.end();
    openStreams.clear();
    const force = setTimeout(() => server.forceShutdown(), 1000);
    force.unref();
    server.tryShutdown(() => {
      clearTimeout(force);
      removeSocket(socketPath);
      const finish = (): void => {
        stopped.resolve();
        if (options.exitOnStop ?? true) process.exit(0);
      };
      (options.onStop?.(reason) ?? Promise.resolve()).then(finish, (err: unknown) => {
        logger.error('stopping plugin', { error: err instanceof Error ? err.message : String(err) });
        finish();
      });
    });
  };

  for (const s of transportServices(capture, openStreams, () => setImmediate(() => stop('controller_shutdown')))) {
    server.addService(s.definition, s.implementation);
  }
  for (const s of options.services) server.addService(s.definition, s.implementation);

  await new Promise<void>((resolve, reject) => {
    server.bindAsync(`unix://${socketPath}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve()));
  });
  const groupWarning = applySocketGroup(socketPath, env);
  if (groupWarning) logger.warn(groupWarning);

  writeSync(1, `${formatHandshake(appVersion, 'unix', socketPath)}\n`);
  capture.install();
  cleanups.push(() => capture.uninstall());

  const ignore = (signal: NodeJS.Signals) => (): void => logger.debug('ignoring signal, the host stops plugins', { signal });
  for (const sig of ['SIGINT', 'SIGQUIT', 'SIGHUP'] as const) {
    const h = ignore(sig);
    process.on(sig, h);
    cleanups.push(() => process.off(sig, h));
  }
  const onTerm = (): void => stop('sigterm');
  process.on('SIGTERM', onTerm);
  cleanups.push(() => process.off('SIGTERM', onTerm));
  const lifeline = watchHost({
    env,
    onGone: (how) => {
      logger.warn('host is gone, stopping', { how });
      stop('host_gone');
    },
  });
  cleanups.push(() => lifeline.dispose());
  logger.debug('plugin serving', { address: socketPath, appVersion });
  return stopped.promise;
}

function transportServices(
  capture: StdoutCapture,
  openStreams: Set<grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>>,
  requestStop: () => void,
): GrpcService[] {
  const health = unaryService(
    { check: healthV1.HealthService.check },
    {
      check: async (req) => {
        if (req.service !== '' && req.service !== 'plugin') throw new Error(`unknown service ${JSON.stringify(req.service)}`);
        return { status: healthV1.HealthCheckResponse_ServingStatus.SERVING };
      },
    },
    { toStatus: (err) => ({ code: grpc.status.NOT_FOUND, details: err instanceof Error ? err.message : String(err) }) },
  );
  const controller = unaryService(
    { shutdown: goplugin.GRPCControllerService.shutdown },
    {
      shutdown: async () => {
        requestStop();
        return {};
      },
    },
  );
  const stdio: GrpcService = {
    definition: serviceDefinition({ streamStdio: goplugin.GRPCStdioService.streamStdio }),
    implementation: {
      streamStdio: ((call: grpc.ServerWritableStream<goplugin.Empty, goplugin.StdioData>) => {
        openStreams.add(call as grpc.ServerWritableStream<unknown, unknown>);
        const unsubscribe = capture.subscribe((data) => call.write({ channel: goplugin.StdioData_Channel.STDOUT, data }));
        call.once('cancelled', () => {
          unsubscribe();
          openStreams.delete(call as grpc.ServerWritableStream<unknown, unknown>);
        });
      }) as grpc.UntypedHandleCall,
    },
  };
  const broker: GrpcService = {
    definition: serviceDefinition({ startStream: goplugin.GRPCBrokerService.startStream }),
    implementation: {
      // Sub-connections are never offered; the stream is accepted and kept open so Go hosts are content.
      startStream: ((call: grpc.ServerDuplexStream<goplugin.ConnInfo, goplugin.ConnInfo>) => {
        openStreams.add(call as grpc.ServerDuplexStream<unknown, unknown>);
        call.on('data', () => {});
        call.once('end', () => {
          openStreams.delete(call as grpc.ServerDuplexStream<unknown, unknown>);
          call.end();
        });
        call.once('cancelled', () => openStreams.delete(call as grpc.ServerDuplexStream<unknown, unknown>));
      }) as grpc.UntypedHandleCall,
    },
  };
  return [health, controller, stdio, broker];
}
