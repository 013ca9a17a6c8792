import net from 'node:net';
import { RunnerError, splitHostPort, type Clock } from '@fleetrunner/common';
import type { ConnectInfo } from '../types.js';

/** Output of one command run over SSH by the conformance suite. */
export interface ProbeResult {
  stdout: string;
  code: number | null;
}

/**
 * Runs `command` on the instance described by `info` with a real SSH connection, accepting any host key
 * (the suite checks reachability and credentials, not trust). Rejects with a RunnerError on auth or network errors.
 */
export async function sshProbe(info: ConnectInfo, command: string, options: { timeoutMs: number; clock: Clock; signal?: AbortSignal }): Promise<ProbeResult> {
  const addr = info.internalAddr || info.externalAddr;
  if (!addr) throw new RunnerError('invalid_argument', `instance ${info.id}: connect info has no address`);
  const { host, port = info.protocolPort || 22 } = splitHostPort(addr);
  // Loaded when the suite first probes: importing @fleetrunner/fleeting does not load ssh2.
  const { Client } = await import('ssh2');
  const sock = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ host, port, noDelay: true });
    const timer = options.clock.setTimeout(() => {
      s.destroy();
      reject(new RunnerError('timeout', `connecting to ${host}:${port}: timed out after ${options.timeoutMs} ms`));
    }, options.timeoutMs);
    s.once('connect', () => {
      timer.clear();
      resolve(s);
    });
    s.once('error', (err) => {
      timer.clear();
      reject(new RunnerError('connection_refused', `connecting to ${host}:${port}: ${err.message}`, { cause: err }));
    });
  });
  const client = new Client();
  const onAbort = (): void => {
    client.end();
    sock.destroy();
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await new Promise<ProbeResult>((resolve, reject) => {
      client.on('error', (err) => reject(new RunnerError('auth_failed', `ssh to ${info.username}@${host}:${port}: ${err.message}`, { cause: err })));
      client.on('close', () => reject(new RunnerError('unavailable', `ssh to ${host}:${port}: connection closed`)));
      client.on('ready', () => {
        client.exec(command, (err, stream) => {
          if (err) {
            reject(new RunnerError('channel_open_failed', `ssh exec on ${host}:${port}: ${err.message}`, { cause: err }));
            return;
          }
          let stdout = '';
          stream.on('data', (d: Buffer) => {
            stdout += d.toString();
          });
          stream.stderr.resume();
          stream.on('close', (code: number | null) => resolve({ stdout, code }));
        });
      });
      client.connect({
        sock,
        username: info.username,
        ...(info.key.length > 0 ? { privateKey: Buffer.from(info.key) } : {}),
        ...(info.password ? { password: info.password } : {}),
        readyTimeout: options.timeoutMs,
        hostVerifier: () => true,
      });
    });
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    client.end();
    sock.destroy();
  }
}
