import { spawn } from 'node:child_process';
import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import { basename } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { RunnerError, abortError, nullLogger, type Logger } from '@fleetrunner/common';
import { DEFAULT_APP_VERSIONS, DEFAULT_MAGIC_COOKIE, ENV, GRPC_OPTIONS, type MagicCookie } from './constants.js';
import { parseHandshake, type Handshake } from './handshake.js';
import { killGroup, trackPlugin } from './live-plugins.js';
import { LineSplitter } from './log-relay.js';
import { PluginProcess, type PluginClient } from './plugin-client.js';
import { removeStaleSocket } from './socket.js';

/** Options of {@link startPlugin}. */
export interface StartPluginOptions {
  /** The plugin binary; a `.js`/`.mjs` file is run with this Node (`process.execPath`). */
  path: string;
  args?: readonly string[];
  /** Name for logs; default the binary's base name. */
  name?: string;
  /** Host logger; the plugin's stderr is re-logged through `logger.child({ plugin: name })`. Default: silent. */
  logger?: Logger;
  /** Default {@link DEFAULT_MAGIC_COOKIE}: pass the cookie that the plugin expects. */
  cookie?: MagicCookie;
  /** App protocol versions the host accepts; default [1]. */
  appVersions?: readonly number[];
  /** Time allowed from spawn to a ready connection, in ms; default 60000. */
  startTimeoutMs?: number;
  /** Graceful stop budget in ms before SIGKILL; default 2000. */
  stopTimeoutMs?: number;
  /** Extra environment for the plugin, over the host's own. */
  env?: Record<string, string | undefined>;
  /** `PLUGIN_MIN_PORT` / `PLUGIN_MAX_PORT` (used by TCP-listening plugins); default 10000..25000. */
  minPort?: number;
  maxPort?: number;
  /** Aborting it kills and reaps the half-started plugin; the promise rejects with the reason. */
  signal?: AbortSignal;
}

function startFailed(path: string, why: string, details: Record<string, unknown> = {}): RunnerError {
  return new RunnerError('plugin_start_failed', `starting plugin ${path}: ${why}`, { details: { path, ...details } });
}

function commandFor(path: string, args: readonly string[]): { cmd: string; argv: string[] } {
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    throw startFailed(path, `binary not found (${(err as NodeJS.ErrnoException).code ?? 'stat failed'})`);
  }
  if (!st.isFile()) throw startFailed(path, 'not a regular file');
  if (/\.m?js$/.test(path)) return { cmd: process.execPath, argv: [path, ...args] };
  try {
    accessSync(path, fsConstants.X_OK);
  } catch {
    throw startFailed(path, 'binary is not executable');
  }
  return { cmd: path, argv: [...args] };
}

/**
 * Starts a plugin binary and connects to it, go-plugin style: spawns it in its own process group with the
 * cookie and protocol variables, reads the handshake line, dials its socket and opens the stdio and broker
 * streams. Every failure kills and reaps the child and rejects with a RunnerError: `plugin_start_failed`
 * (missing/not executable, exited before the handshake — with its exit code and last stderr lines, which
 * include a wrong-cookie plugin's own message), `plugin_handshake` (unparsable line, wrong version or protocol),
 * `timeout` (no handshake or connection within `startTimeoutMs`).
 */
export async function startPlugin(options: StartPluginOptions): Promise<PluginClient> {
  const path = options.path;
  const name = options.name ?? basename(path);
  const logger = (options.logger ?? nullLogger).child({ plugin: name });
  const appVersions = options.appVersions ?? DEFAULT_APP_VERSIONS;
  const cookie = options.cookie ?? DEFAULT_MAGIC_COOKIE;
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  if (options.signal?.aborted) throw abortError(options.signal);
  const { cmd, argv } = commandFor(path, options.args ?? []);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // Before options.env so a caller can switch the stdin lifeline off (tests of the parent-pid fallback).
    [ENV.lifeline]: 'stdin',
    ...options.env,
    [cookie.key]: cookie.value,
    [ENV.protocolVersions]: appVersions.join(','),
    [ENV.minPort]: String(options.minPort ?? 10000),
    [ENV.maxPort]: String(options.maxPort ?? 25000),
  };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  logger.debug('starting plugin', { path, args: argv });
  const child = spawn(cmd, argv, { detached: true, stdio: ['pipe', 'pipe', 'pipe'], env });
  const proc = new PluginProcess(child, path, name, logger, options.stopTimeoutMs ?? 2000);
  if (child.pid !== undefined) trackPlugin(child.pid);
  const deadline = Date.now() + startTimeoutMs;
  let handshake = '';
  try {
    handshake = await waitForHandshake(proc, child, logger, startTimeoutMs, options.signal);
    const hs = parseHandshake(handshake, appVersions);
    if (hs.serverCert) throw new RunnerError('plugin_handshake', `plugin ${path} sent a TLS certificate, but AutoMTLS is not enabled`);
    const client = await connect(hs, deadline, options.signal, proc);
    proc.attach(client, hs.appVersion, hs.address, hs.network === 'unix' ? hs.address : undefined);
    logger.debug('plugin started', { path, pid: proc.pid, appVersion: hs.appVersion, address: hs.address });
    return proc;
  } catch (err) {
    if (proc.state !== 'exited' && child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
    if (child.pid !== undefined) await proc.exited;
    const [, , network, address] = handshake.trim().split('|');
    if (network === 'unix' && address) removeStaleSocket(address);
    throw err instanceof RunnerError && err.code !== 'aborted' ? finalError(err, path, child.pid) : err;
  }
}

/** Names the path once and records the (reaped) pid, so callers and tests can check it is gone. */
function finalError(err: RunnerError, path: string, pid: number | undefined): RunnerError {
  const message = err.message.startsWith('starting plugin') ? err.message : `starting plugin ${path}: ${err.message}`;
  return new RunnerError(err.code, message, { cause: err.cause ?? err, details: { ...err.details, path, pid } });
}

/** Resolves with the first stdout line; rejects on exit, spawn error, timeout or abort. Later lines are drained. */
function waitForHandshake(
  proc: PluginProcess,
  child: ReturnType<typeof spawn>,
  logger: Logger,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let done = false;
    const finish = (fn: () => void): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const timer = setTimeout(
      () => finish(() => reject(new RunnerError('timeout', `starting plugin ${proc.path}: no handshake within ${timeoutMs} ms`, { details: { path: proc.path } }))),
      timeoutMs,
    );
    timer.unref();
    const onAbort = (): void => finish(() => reject(abortError(signal!)));
    signal?.addEventListener('abort', onAbort, { once: true });
    let first = true;
    const lines = new LineSplitter((line) => {
      if (first) {
        first = false;
        finish(() => resolve(line));
      } else {
        logger.debug(line, { stream: 'stdout' });
      }
    });
    child.stdout?.on('data', (d: Buffer) => lines.push(d));
    child.once('error', (err) => finish(() => reject(startFailed(proc.path, err.message, { errno: (err as NodeJS.ErrnoException).code }))));
    void proc.exited.then(async (exit) => {
      if (done) return;
      await Promise.race([proc.stderrDone, delay(500)]);
      const last = proc.relay.lastLines().slice(-10);
      const how = exit.signal ? `killed by signal ${exit.signal}` : `exit code ${exit.code}`;
      const tail = last.length ? `; last stderr lines: ${last.map((l) => JSON.stringify(l)).join(' | ')}` : '; no stderr output';
      finish(() => reject(startFailed(proc.path, `plugin exited before the handshake (${how})${tail}`, { code: exit.code, signal: exit.signal, stderr: last })));
    });
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

async function connect(hs: Handshake, deadline: number, signal: AbortSignal | undefined, proc: PluginProcess): Promise<grpc.Client> {
  const target = hs.network === 'unix' ? `unix://${hs.address}` : hs.address;
  const client = new grpc.Client(target, grpc.credentials.createInsecure(), { ...GRPC_OPTIONS });
  try {
    await new Promise<void>((resolve, reject) => {
      const onDead = (): void => reject(proc.deadSignal.reason);
      const onAbort = (): void => reject(abortError(signal!));
      proc.deadSignal.addEventListener('abort', onDead, { once: true });
      signal?.addEventListener('abort', onAbort, { once: true });
      client.waitForReady(deadline, (err) => {
        proc.deadSignal.removeEventListener('abort', onDead);
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(new RunnerError('timeout', `connecting to plugin at ${target}: ${err.message}`, { cause: err }));
        else resolve();
      });
    });
    return client;
  } catch (err) {
    client.close();
    throw err;
  }
}
