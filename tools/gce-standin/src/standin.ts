import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeHttp, listenHttp, portOf, standinParts, type Faults, type StandinBaseOptions } from '@fleetrunner/standin-kit';
import { serveApi } from './api/http-api.js';
import { newServiceAccountKey, type ServiceAccount } from './auth.js';
import { GceCloud } from './cloud.js';
import { serveControl } from './control-api.js';
import { serveMetadata } from './metadata-server.js';
import type { GroupSpec } from './model.js';

/**
 * Options of {@link startGceStandin}. Times are milliseconds. Subnets default to `127.86.0.0/18` (internal
 * addresses), `127.86.64.0/18` (external) and `127.86.128.0/17` (the machines); the state dir to a temporary dir
 * removed by `stop()`.
 */
export interface GceStandinOptions extends StandinBaseOptions {
  /** The one project served; default `fleetrunner-test`. */
  project?: string;
  /** Zone of groups that name none; default `us-central1-a`. */
  zone?: string;
  /** Managed instance groups to create. */
  groups?: GroupSpec[];
  /** Service accounts accepted besides the one the stand-in makes (whose key file it writes). */
  serviceAccounts?: ServiceAccount[];
  /** Opaque bearer tokens accepted. */
  tokens?: string[];
  /** How long after its call an operation is done; default 0 (the next lifecycle round). */
  operationDelayMs?: number;
  /** Longest zoneOperations.wait; default 120 000 (about what GCE blocks). */
  waitMs?: number;
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
  const parts = await standinParts('gce-standin', options, { subnet: '127.86.0.0/18', publicSubnet: '127.86.64.0/18', machineSubnet: '127.86.128.0/17' });
  const { logger, faults, calls, host } = parts;
  const project = options.project ?? 'fleetrunner-test';
  const files = mkdtempSync(join(tmpdir(), 'gce-standin-'));
  const key = newServiceAccountKey(project);
  const credentialsFile = join(files, 'service-account.json');
  writeFileSync(credentialsFile, JSON.stringify(key.file, null, 2) + '\n', { mode: 0o600 });
  const backend = parts.backend(join(files, 'machines'));
  const cloud = new GceCloud({
    project,
    zone: options.zone ?? 'us-central1-a',
    ...parts.model,
    backend,
    operationDelayMs: options.operationDelayMs ?? 0,
  });
  for (const g of options.groups ?? []) cloud.putGroup(g);
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
  const server = await listenHttp(host, options.port ?? 0, (req, res, url, body) => {
    if (url.pathname.startsWith('/_standin/')) serveControl(cloud, faults, calls, req.method ?? 'GET', url.pathname, body, res);
    else if (url.pathname.startsWith('/computeMetadata/')) serveMetadata({ project, email: key.account.email, tokens: ctx.tokens }, req, res, url);
    else serveApi(ctx, req, res, url, body);
  });
  const endpoint = `http://${host}:${portOf(server)}`;
  const stop = parts.lifecycle(
    () => cloud.tick(),
    async () => {
      await cloud.shutdown();
      await closeHttp(server);
      await backend.shutdown();
      rmSync(files, { recursive: true, force: true });
    },
  );
  return {
    endpoint,
    credentialsFile,
    env: { CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE: `${endpoint}/compute/v1/`, GOOGLE_APPLICATION_CREDENTIALS: credentialsFile },
    metadataHost: new URL(endpoint).host,
    cloud,
    faults,
    calls,
    stop,
  };
}
