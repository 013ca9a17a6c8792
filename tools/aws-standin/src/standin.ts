import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeHttp, listenHttp, portOf, standinParts, type Faults, type StandinBaseOptions } from '@fleetrunner/standin-kit';
import { serveApi, type AcceptedCredentials } from './api/http-api.js';
import { Cloud } from './cloud.js';
import { serveControl } from './control-api.js';
import type { GroupSpec } from './model.js';

/**
 * Options of {@link startAwsStandin}. Times are milliseconds. Subnets default to `127.90.0.0/17` (private
 * addresses), `127.90.128.0/17` (public) and `127.91.0.0/16` (the machines); the state dir to a temporary dir
 * removed by `stop()`.
 */
export interface AwsStandinOptions extends StandinBaseOptions {
  /** The one region this endpoint serves (requests signed for another are refused); default `us-east-1`. */
  region?: string;
  /** Default `123456789012`. */
  accountId?: string;
  /** Auto Scaling groups to create. */
  groups?: GroupSpec[];
  /** Accepted credentials; default: any SigV4-signed request. */
  credentials?: AcceptedCredentials[];
  /** How long a key pushed with SendSSHPublicKey works; default 60 000 (as in AWS). */
  keyValidityMs?: number;
  /** How long terminated instances stay in their group's list; default 1000. */
  groupRetentionMs?: number;
  /** How long terminated instances stay in DescribeInstances; default 300 000. */
  instanceRetentionMs?: number;
}

/** A running stand-in. */
export interface AwsStandin {
  /** `http://<host>:<port>`: the value for `AWS_ENDPOINT_URL`. */
  endpoint: string;
  cloud: Cloud;
  faults: Faults;
  /** Calls received (throttled included), by `<service>:<action>`. */
  calls: Map<string, number>;
  /** Stops serving, kills every instance's machine, removes a temporary state dir. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts the AWS stand-in: an HTTP endpoint speaking the Auto Scaling and EC2 query APIs and EC2 Instance Connect's
 * JSON API (so the real SDK clients work against it through an endpoint override), with instances that are SSH
 * servers on this machine. Resolves once it serves.
 */
export async function startAwsStandin(options: AwsStandinOptions = {}): Promise<AwsStandin> {
  const parts = await standinParts('aws-standin', options, { subnet: '127.90.0.0/17', publicSubnet: '127.90.128.0/17', machineSubnet: '127.91.0.0/16' });
  const { logger, faults, calls } = parts;
  const region = options.region ?? 'us-east-1';
  const tempState = options.stateDir ? undefined : mkdtempSync(join(tmpdir(), 'aws-standin-'));
  const backend = parts.backend(tempState!);
  const cloud = new Cloud({
    region,
    accountId: options.accountId ?? '123456789012',
    ...parts.model,
    backend,
    keyValidityMs: options.keyValidityMs ?? 60_000,
    groupRetentionMs: options.groupRetentionMs ?? 1000,
    instanceRetentionMs: options.instanceRetentionMs ?? 300_000,
  });
  for (const g of options.groups ?? []) cloud.putGroup(g);
  const ctx = { cloud, faults, region, credentials: options.credentials, calls, logger };
  await backend.start();

  const server = await listenHttp(parts.host, options.port ?? 0, (req, res, url, body) => {
    if (url.pathname.startsWith('/_standin/')) serveControl(cloud, faults, calls, req.method ?? 'GET', url.pathname, body, res);
    else serveApi(ctx, req, res, url, body);
  });
  const stop = parts.lifecycle(
    () => cloud.tick(),
    async () => {
      await closeHttp(server);
      await cloud.shutdown();
      await backend.shutdown();
      if (tempState) rmSync(tempState, { recursive: true, force: true });
    },
  );
  return { endpoint: `http://${parts.host}:${portOf(server)}`, cloud, faults, calls, stop };
}
