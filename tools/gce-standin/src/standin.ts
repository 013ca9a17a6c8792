import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nullLogger, systemClock, type Clock, type Logger } from '@fleetrunner/common';
import { AddressPool, Backend, Faults, checkSshPort, closeHttp, listenHttp, portOf, runLifecycle, type ThrottleRule } from '@fleetrunner/standin-kit';
import { serveApi } from './api/http-api.js';
import { newServiceAccountKey, type ServiceAccount } from './auth.js';
import { GceCloud } from './cloud.js';
import { serveControl } from './control-api.js';
import { serveMetadata } from './metadata-server.js';
import type { GroupSpec } from './model.js';

/** Options of {@link startGceStandin}. Times are milliseconds. */
export interface GceStandinOptions {
  /** Listen address of the API endpoint; default 127.0.0.1. */
  host?: string;
  /** Default 0 (an ephemeral port). */
  port?: number;
  /** The one project served; default `fleetrunner-test`. */
  project?: string;
  /** Zone of groups that name none; default `us-central1-a`. */
  zone?: string;
  /** Managed instance groups to create. */
  groups?: GroupSpec[];
  /** Loopback subnet of the instances' internal addresses; default `127.86.0.0/18`. */
  subnet?: string;
  /** Loopback subnet of their external addresses; default `127.86.64.0/18`. */
  publicSubnet?: string;
  /** Loopback subnet of the machines behind the instances (local-plugin SSH servers); default `127.86.128.0/17`. */
  machineSubnet?: string;
  /** Port of the instances' SSH servers; default 22 (needs root; else pick ≥1024). */
  sshPort?: number;
  /** How machines serve SSH: `ssh2` (default) or `sshd` (OpenSSH). */
  machineMode?: 'ssh2' | 'sshd';
  /** Largest number of machines at once; default 64. */
  maxMachines?: number;
  /** State dir of the machines; default a temporary dir removed by `stop()`. */
  stateDir?: string;
  /** Service accounts accepted besides the one the stand-in makes (whose key file it writes). */
  serviceAccounts?: ServiceAccount[];
  /** Opaque bearer tokens accepted. */
  tokens?: string[];
  /** Throttling rules active from the start. */
  throttle?: ThrottleRule[];
  /** How long after its call an operation is done; default 0 (the next lifecycle round). */
  operationDelayMs?: number;
  /** Longest zoneOperations.wait; default 120 000 (about what GCE blocks). */
  waitMs?: number;
  /** Period of the lifecycle loop; default 50. */
  tickMs?: number;
  clock?: Clock;
  logger?: Logger;
}

/** A running stand-in. */
export interface GceStandin {
  /** `http://<host>:<port>`. */
  endpoint: string;
  /** A key file of a service account the stand-in accepts (for `GOOGLE_APPLICATION_CREDENTIALS` or `credentials_file`). */
  credentialsFile: string;
  /** What a client needs: the endpoint override (gcloud's convention) and the credentials. */
  env: Record<string, string>;
  /**
   * `host:port` for `GCE_METADATA_HOST`: the stand-in also serves the metadata server's token endpoints, for
   * Application Default Credentials as on a VM (set it and leave GOOGLE_APPLICATION_CREDENTIALS unset).
   */
  metadataHost: string;
  cloud: GceCloud;
  faults: Faults;
  /** Calls received (throttled included), by `compute:<method>`. */
  calls: Map<string, number>;
  /** Stops serving, kills every instance's machine, removes temporary files. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts the Compute Engine stand-in: an HTTP endpoint speaking the compute/v1 REST API of managed instance groups,
 * instances and zone operations (so `@google-cloud/compute` works against it unchanged), with instances that are
 * SSH servers on this machine admitting the keys in their `ssh-keys` metadata. Resolves once it serves.
 */
export async function startGceStandin(options: GceStandinOptions = {}): Promise<GceStandin> {
  const logger = (options.logger ?? nullLogger).child({ component: 'gce-standin' });
  const clock = options.clock ?? systemClock;
  const project = options.project ?? 'fleetrunner-test';
  const sshPort = options.sshPort ?? 22;
  const privateAddresses = new AddressPool(options.subnet ?? '127.86.0.0/18');
  const publicAddresses = new AddressPool(options.publicSubnet ?? '127.86.64.0/18');
  await checkSshPort(privateAddresses, sshPort);
  const files = mkdtempSync(join(tmpdir(), 'gce-standin-'));
  const key = newServiceAccountKey(project);
  const credentialsFile = join(files, 'service-account.json');
  writeFileSync(credentialsFile, JSON.stringify(key.file, null, 2) + '\n', { mode: 0o600 });
  const backend = new Backend({
    stateDir: options.stateDir ?? join(files, 'machines'),
    subnet: options.machineSubnet ?? '127.86.128.0/17',
    mode: options.machineMode ?? 'ssh2',
    maxSize: options.maxMachines ?? 64,
    name: 'gce-standin',
    logger,
  });
  const cloud = new GceCloud({
    project,
    zone: options.zone ?? 'us-central1-a',
    clock,
    logger,
    backend,
    privateAddresses,
    publicAddresses,
    sshPort,
    operationDelayMs: options.operationDelayMs ?? 0,
  });
  const faults = new Faults();
  for (const rule of options.throttle ?? []) faults.addThrottle(rule);
  for (const g of options.groups ?? []) cloud.putGroup(g);
  const calls = new Map<string, number>();
  const ctx = {
    cloud,
    faults,
    accounts: [key.account, ...(options.serviceAccounts ?? [])],
    tokens: new Set(options.tokens ?? []),
    calls,
    waitMs: options.waitMs ?? 120_000,
    logger,
  };
  await backend.start();
  const host = options.host ?? '127.0.0.1';
  const server = await listenHttp(host, options.port ?? 0, (req, res, url, body) => {
    if (url.pathname.startsWith('/_standin/')) serveControl(cloud, faults, calls, req.method ?? 'GET', url.pathname, body, res);
    else if (url.pathname.startsWith('/computeMetadata/')) serveMetadata({ project, email: key.account.email, tokens: ctx.tokens }, req, res, url);
    else serveApi(ctx, req, res, url, body);
  });
  const endpoint = `http://${host}:${portOf(server)}`;
  const stopping = new AbortController();
  const loop = runLifecycle(() => cloud.tick(), clock, options.tickMs ?? 50, stopping.signal, logger);
  let stopped: Promise<void> | undefined;
  return {
    endpoint,
    credentialsFile,
    env: { CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE: `${endpoint}/compute/v1/`, GOOGLE_APPLICATION_CREDENTIALS: credentialsFile },
    metadataHost: new URL(endpoint).host,
    cloud,
    faults,
    calls,
    stop() {
      stopped ??= (async () => {
        stopping.abort();
        await loop;
        await cloud.shutdown();
        await closeHttp(server);
        await backend.shutdown();
        rmSync(files, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
