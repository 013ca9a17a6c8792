
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listenHttps, makeTestCa, standinParts, type Faults, type StandinBaseOptions } from '@fleetrunner/standin-kit';
import { serveArm } from './api/http-api.js';
import { newDirectory, serveIdentity, type Directory } from './auth.js';
import { AzureCloud } from './cloud.js';
import { serveControl } from './control-api.js';
import type { ScaleSetSpec } from './model.js';

/**
 * Options of {@link startAzureStandin}. Times are milliseconds. Subnets default to `127.89.0.0/18` (the VMs'
 * private addresses), `127.89.64.0/18` (public) and `127.89.128.0/17` (the machines); the state dir to a temporary
 * dir removed by `stop()`.
 */
export interface AzureStandinOptions extends StandinBaseOptions {
  /** Listen address; default 127.0.0.1 (the server certificate names it). */
  host?: string;
  /** The one subscription served; default a fixed test id. */
  subscriptionId?: string;
  /** Resource group of scale sets that name none; default `fleetrunner-test`. */
  resourceGroup?: string;
  scaleSets?: ScaleSetSpec[];
  /** How long an asynchronous operation stays InProgress; default 0 (the next lifecycle round). */
  operationDelayMs?: number;
  /** The Retry-After (seconds) of asynchronous operations; default 0 (clients poll at their own interval). */
  pollRetryAfterSeconds?: number;
  /** VMs per page of the scale-set VMs list; default 100. */
  pageSize?: number;
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
  const parts = await standinParts('azure-standin', options, { subnet: '127.89.0.0/18', publicSubnet: '127.89.64.0/18', machineSubnet: '127.89.128.0/17' });
  const { logger, clock, faults, calls, host } = parts;
  const subscriptionId = options.subscriptionId ?? DEFAULT_SUBSCRIPTION;
  const resourceGroup = options.resourceGroup ?? 'fleetrunner-test';
  const files = mkdtempSync(join(tmpdir(), 'azure-standin-'));
  let started = false;
  try {
    const ca = await makeTestCa(files, [host, '127.0.0.1', 'localhost'], 'azure-standin');
    const directory = newDirectory();
    const federatedTokenFile = join(files, 'federated-token');
    writeFileSync(federatedTokenFile, directory.federatedToken, { mode: 0o600 });
    const backend = parts.backend(join(files, 'machines'));
    const cloud = new AzureCloud({ ...parts.model, subscriptionId, resourceGroup, backend, operationDelayMs: options.operationDelayMs ?? 0 });
    for (const s of options.scaleSets ?? []) cloud.putScaleSet(s);
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
    const stop = parts.lifecycle(
      () => cloud.tick(),
      async () => {
        await cloud.shutdown();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await backend.shutdown();
        rmSync(files, { recursive: true, force: true });
      },
    );
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
      stop,
    };
  } finally {
    if (!started) rmSync(files, { recursive: true, force: true });
  }
}

