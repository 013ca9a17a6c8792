import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { RunnerError } from '@fleetrunner/common';
import type { LocalConfig } from './config.js';
import type { Credentials } from './credentials.js';
import { generateEd25519 } from '@fleetrunner/fleeting';
import { launchInstance, reservePort } from './launch.js';
import { killInstanceProcesses } from './proc.js';
import type { InstanceRecord, StateStore } from './state-store.js';
import { subnetHosts } from './subnet.js';

/** How many addresses to try before giving up on finding a free one. */
const ADDRESS_ATTEMPTS = 64;

/** Picks the lowest address of the subnet not used by `inUse` whose port can be bound; returns it and the port. */
async function pickAddress(config: LocalConfig, inUse: ReadonlySet<string>): Promise<{ ip: string; port: number }> {
  let tried = 0;
  let lastError: unknown;
  for (const ip of subnetHosts(config.subnet)) {
    if (inUse.has(ip)) continue;
    if (++tried > ADDRESS_ATTEMPTS) break;
    try {
      return { ip, port: await reservePort(ip, config.port) };
    } catch (err) {
      lastError = err;
    }
  }
  throw RunnerError.wrap(`finding a free address in ${config.subnet.text} for port ${config.port}`, lastError ?? 'subnet exhausted', 'no_capacity');
}

/**
 * Creates one instance: address, host key, files, and its detached process. The record is saved before the
 * process starts (pid 0), so a plugin that dies mid-way leaves a trace a later run reports as `timeout`.
 */
export async function createInstance(
  options: { config: LocalConfig; store: StateStore; creds: Credentials; index: number; now: number; inUse: ReadonlySet<string> },
): Promise<InstanceRecord> {
  const { config, store, creds } = options;
  const id = `${config.name}-${options.index}`;
  const { ip, port } = await pickAddress(config, options.inUse);
  const dir = store.instanceDir(id);
  const hostKey = generateEd25519(`${id}-host`);
  const record: InstanceRecord = {
    id,
    index: options.index,
    mode: config.mode,
    ip,
    port,
    username: creds.username,
    home: join(dir, 'home'),
    pid: 0,
    hostKey: hostKey.publicKey,
    createdAt: options.now,
  };
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await store.save(record);
    const proc = await launchInstance({
      mode: config.mode,
      dir,
      home: record.home,
      ip,
      port,
      username: creds.username,
      hostPrivateKey: hostKey.privateKey,
      hostPublicKey: hostKey.publicKey,
      authorizedKeys: creds.authorizedKeys,
      ...(creds.passwordHash ? { passwordHash: creds.passwordHash } : {}),
      path: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      sshdPath: config.sshdPath,
    });
    record.pid = proc.pid;
    if (proc.startTicks !== undefined) record.startTicks = proc.startTicks;
    await store.save(record);
    return record;
  } catch (err) {
    killInstanceProcesses(record, dir);
    await store.remove(id);
    throw RunnerError.wrap(`creating instance ${id}`, err);
  }
}
