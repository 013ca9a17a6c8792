
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nullLogger, systemClock, type Clock, type Logger } from '@fleetrunner/common';
import { AddressPool, Backend, Faults, checkSshPort, listenHttps, makeTestCa, runLifecycle, type ThrottleRule } from '@fleetrunner/standin-kit';
import { serveArm } from './api/http-api.js';
import { newDirectory, serveIdentity, type Directory } from './auth.js';
import { AzureCloud } from './cloud.js';
import { serveControl } from './control-api.js';
import type { ScaleSetSpec } from './model.js';

/** Options of {@link startAzureStandin}. Times are milliseconds. */
export interface AzureStandinOptions {
  /** Listen address; default 127.0.0.1 (the server certificate names it). */
  host?: string;
  /** Default 0 (an ephemeral port). */
  port?: number;
  /** The one subscription served; default a fixed test id. */
  subscriptionId?: string;
  /** Resource group of scale sets that name none; default `fleetrunner-test`. */
  resourceGroup?: string;
  scaleSets?: ScaleSetSpec[];
  /** Loopback subnet of the VMs' private addresses; default `127.89.0.0/18`. */
  subnet?: string;
  /** Loopback subnet of their public addresses; default `127.89.64.0/18`. */
  publicSubnet?: string;
  /** Loopback subnet of the machines behind the VMs; default `127.89.128.0/17`. */
  machineSubnet?: string;
  /** Port of the VMs' SSH servers; default 22 (needs root; else pick ≥1024). */
  sshPort?: number;
  /** `ssh2` (default) or `sshd` (OpenSSH). */
  machineMode?: 'ssh2' | 'sshd';
  /** Largest number of machines at once; default 64. */
  maxMachines?: number;
  /** State dir of the machines; default a temporary dir removed by `stop()`. */
  stateDir?: string;
  /** Throttling rules active from the start (`status` 429, default, or 503; `retryAfterSeconds`). */
  throttle?: ThrottleRule[];
  /** How long an asynchronous operation stays InProgress; default 0 (the next lifecycle round). */
  operationDelayMs?: number;
  /** The Retry-After (seconds) of asynchronous operations; default 0 (clients poll at their own interval). */
  pollRetryAfterSeconds?: number;
  /** VMs per page of the scale-set VMs list; default 100. */
  pageSize?: number;
  /** Period of the lifecycle loop; default 50. */
  tickMs?: number;
  clock?: Clock;
  logger?: Logger;
}

/** A running stand-in. */
export interface AzureStandin {
  /** `https://<host>:<port>`: Resource Manager, Entra ID (authority host) and the managed identity endpoint. */
  endpoint: string;
  subscriptionId: string;
  resourceGroup: string;
  /** The CA certificate (PEM) and its file, for `NODE_EXTRA_CA_CERTS`. */
  caPem: string;
  caFile: string;
  /**
   * What a client needs (`export` lines of the binary): the service principal (`AZURE_TENANT_ID`,
   * `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`), the endpoint overrides (`AZURE_AUTHORITY_HOST`,
   * `AZURE_RESOURCE_MANAGER_ENDPOINT`) and `NODE_EXTRA_CA_CERTS`.
   */
  env: Record<string, string>;
  /** The service principal and the tokens issued. */
  directory: Directory;
  /** A federated token file (workload identity: `AZURE_FEDERATED_TOKEN_FILE` with tenant and client id). */
  federatedTokenFile: string;
  /** The App Service managed identity endpoint (`IDENTITY_ENDPOINT`) and its `IDENTITY_HEADER`. */
  identityEndpoint: string;
  cloud: AzureCloud;
  faults: Faults;
  /** Calls received (throttled included), by `<service>:<operation>`. */
  calls: Map<string, number>;
  /** Stops serving, kills every VM's machine, removes temporary files. Idempotent. */
  stop(): Promise<void>;
}

/** The default subscription id. */
export const DEFAULT_SUBSCRIPTION = '9b3c4602-cde2-4089-bed8-889e5a3e7102';

/**
 * Starts the Azure stand-in: one HTTPS endpoint (its own CA, made here with openssl) speaking the Resource Manager
 * REST API of Virtual Machine Scale Sets, their VMs, network interfaces and public addresses, with asynchronous
 * operations (so `@azure/arm-compute` and `@azure/arm-network` work against it unchanged), Entra ID's token
 * endpoint and a managed identity endpoint (so `@azure/identity` does), and VMs that are SSH servers on this
 * machine admitting the scale set's admin user (password or keys). Resolves once it serves.
 */
export async function startAzureStandin(options: AzureStandinOptions = {}): Promise<AzureStandin> {
  const logger = (options.logger ?? nullLogger).child({ component: 'azure-standin' });
  const clock = options.clock ?? systemClock;
  const subscriptionId = options.subscriptionId ?? DEFAULT_SUBSCRIPTION;
  const resourceGroup = options.resourceGroup ?? 'fleetrunner-test';
  const sshPort = options.sshPort ?? 22;
  const privateAddresses = new AddressPool(options.subnet ?? '127.89.0.0/18');
  const publicAddresses = new AddressPool(options.publicSubnet ?? '127.89.64.0/18');
  await checkSshPort(privateAddresses, sshPort);
  const host = options.host ?? '127.0.0.1';
  const files = mkdtempSync(join(tmpdir(), 'azure-standin-'));
  let started = false;
  try {
    const ca = await makeTestCa(files, [host, '127.0.0.1', 'localhost'], 'azure-standin');
    const directory = newDirectory();
    const federatedTokenFile = join(files, 'federated-token');
    writeFileSync(federatedTokenFile, directory.federatedToken, { mode: 0o600 });
    const backend = new Backend({
      stateDir: options.stateDir ?? join(files, 'machines'),
      subnet: options.machineSubnet ?? '127.89.128.0/17',
      mode: options.machineMode ?? 'ssh2',
      maxSize: options.maxMachines ?? 64,
      name: 'azure-standin',
      logger,
    });
    const cloud = new AzureCloud({ subscriptionId, resourceGroup, clock, logger, backend, privateAddresses, publicAddresses, sshPort, operationDelayMs: options.operationDelayMs ?? 0 });
    const faults = new Faults();
    for (const rule of options.throttle ?? []) faults.addThrottle(rule);
    for (const s of options.scaleSets ?? []) cloud.putScaleSet(s);
    const calls = new Map<string, number>();
    await backend.start();
    let base = '';
    const ctx = { cloud, faults, directory, base, calls, pageSize: options.pageSize ?? 100, pollRetryAfterSeconds: options.pollRetryAfterSeconds ?? 0, logger };
    const server = await listenHttps(host, options.port ?? 0, ca, (req, res, url, body) => {
      if (url.pathname.startsWith('/_standin/')) serveControl(cloud, faults, calls, req.method ?? 'GET', url.pathname, body, res);
      else if (!url.pathname.toLowerCase().startsWith('/subscriptions/') && serveIdentity(directory, base, req, res, url, body, clock.now())) return;
      else serveArm(ctx, req, res, url, body);
    });
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    base = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
    ctx.base = base;
    const stopping = new AbortController();
    const loop = runLifecycle(() => cloud.tick(), clock, options.tickMs ?? 50, stopping.signal, logger);
    let stopped: Promise<void> | undefined;
    started = true;
    return {
      endpoint: base,
      subscriptionId,
      resourceGroup,
      caPem: ca.caPem,
      caFile: ca.caFile,
      env: {
        AZURE_TENANT_ID: directory.tenantId,
        AZURE_CLIENT_ID: directory.clientId,
        AZURE_CLIENT_SECRET: directory.clientSecret,
        AZURE_AUTHORITY_HOST: base,
        AZURE_RESOURCE_MANAGER_ENDPOINT: base,
        NODE_EXTRA_CA_CERTS: ca.caFile,
      },
      directory,
      federatedTokenFile,
      identityEndpoint: `${base}/msi/token`,
      cloud,
      faults,
      calls,
      stop() {
        stopped ??= (async () => {
          stopping.abort();
          await loop;
          await cloud.shutdown();
          server.closeAllConnections();
          await new Promise<void>((resolve) => server.close(() => resolve()));
          await backend.shutdown();
          rmSync(files, { recursive: true, force: true });
        })();
        return stopped;
      },
    };
  } finally {
    if (!started) rmSync(files, { recursive: true, force: true });
  }
}

