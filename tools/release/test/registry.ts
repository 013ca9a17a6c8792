// Test helper: a real Debian `docker-registry` (plain HTTP, no auth) on a free loopback port, removed when the
// test ends. packages/installer has a fuller fixture (auth, TLS) but keeps it inside its tests.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Teardownable } from '@fleetrunner/testing';

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function startOnce(t: Teardownable): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'fr-release-registry-'));
  const host = `127.0.0.1:${await freePort()}`;
  const config = ['version: 0.1', 'log:', '  level: info', '  accesslog:', '    disabled: true', 'storage:', '  filesystem:', `    rootdirectory: ${join(dir, 'data')}`, 'http:', `  addr: ${host}`];
  writeFileSync(join(dir, 'config.yml'), config.join('\n') + '\n');
  const child = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  let log = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const onData = (d: Buffer): void => {
        log += d.toString();
        if (log.includes('listening on')) resolve();
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`docker-registry exited with ${code}: ${log}`)));
    });
  } catch (err) {
    await stop();
    throw err;
  }
  t.teardown(stop);
  return host;
}

/**
 * Starts `docker-registry` and returns its `127.0.0.1:<port>`. The free port is handed over, so another process
 * may take it first: a registry that exits before listening is started again on a new port (three tries).
 */
export async function startRegistry(t: Teardownable): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(t);
    } catch (err) {
      if (attempt >= 3 || !(err instanceof Error) || !err.message.includes('docker-registry exited')) throw err;
    }
  }
}
