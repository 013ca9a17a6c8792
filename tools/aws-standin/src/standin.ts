import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nullLogger, systemClock, type Clock, type Logger } from '@fleetrunner/common';
import { AddressPool, Backend, Faults, checkSshPort, closeHttp, listenHttp, portOf, runLifecycle, type ThrottleRule } from '@fleetrunner/standin-kit';
import { serveApi, type AcceptedCredentials } from './api/http-api.js';
import { Cloud } from './cloud.js';
import { serveControl } from './control-api.js';
import type { GroupSpec } from './model.js';

/** Options of {@link startAwsStandin}. Times are milliseconds. */
export interface AwsStandinOptions {
  /** Listen address of the API endpoint; default 127.0.0.1. */
  host?: string;
  /** Default 0 (an ephemeral port). */
  port?: number;
  /** The one region this endpoint serves (requests signed for another are refused); default `us-east-1`. */
  region?: string;
  /** Default `123456789012`. */
  accountId?: string;
  /** Auto Scaling groups to create. */
  groups?: GroupSpec[];
  /** Loopback subnet of the instances' private addresses; default `127.90.0.0/17`. */
  subnet?: string;
  /** Loopback subnet of their public addresses; default `127.90.128.0/17`. */
  publicSubnet?: string;
  /** Loopback subnet of the machines behind the instances (local-plugin SSH servers); default `127.91.0.0/16`. */
  machineSubnet?: string;
  /** Port of the instances' SSH servers (private and public address); default 22 (needs root; else pick ≥1024). */
  sshPort?: number;
  /** How machines serve SSH: `ssh2` (default) or `sshd` (OpenSSH). */
  machineMode?: 'ssh2' | 'sshd';
  /** Largest number of machines at once; default 64. */
  maxMachines?: number;
  /** State dir of the machines; default a temporary dir removed by `stop()`. */
  stateDir?: string;
  /** Accepted credentials; default: any SigV4-signed request. */
  credentials?: AcceptedCredentials[];
  /** Throttling rules active from the start. */
  throttle?: ThrottleRule[];
  /** How long a key pushed with SendSSHPublicKey works; default 60 000 (as in AWS). */
  keyValidityMs?: number;
  /** How long terminated instances stay in their group's list; default 1000. */
  groupRetentionMs?: number;
  /** How long terminated instances stay in DescribeInstances; default 300 000. */
  instanceRetentionMs?: number;
  /** Period of the lifecycle loop; default 50. */
  tickMs?: number;
  clock?: Clock;
  logger?: Logger;
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
  const logger = (options.logger ?? nullLogger).child({ component: 'aws-standin' });
  const clock = options.clock ?? systemClock;
  const region = options.region ?? 'us-east-1';
  const sshPort = options.sshPort ?? 22;
  const privateAddresses = new AddressPool(options.subnet ?? '127.90.0.0/17');
  const publicAddresses = new AddressPool(options.publicSubnet ?? '127.90.128.0/17');
  await checkSshPort(privateAddresses, sshPort);
  const tempState = options.stateDir ? undefined : mkdtempSync(join(tmpdir(), 'aws-standin-'));
  const backend = new Backend({
    stateDir: options.stateDir ?? tempState!,
    subnet: options.machineSubnet ?? '127.91.0.0/16',
    mode: options.machineMode ?? 'ssh2',
    maxSize: options.maxMachines ?? 64,
    name: 'aws-standin',
    logger,
  });
  const cloud = new Cloud({
    region,
    accountId: options.accountId ?? '123456789012',
    clock,
    logger,
    backend,
    privateAddresses,
    publicAddresses,
    sshPort,
    keyValidityMs: options.keyValidityMs ?? 60_000,
    groupRetentionMs: options.groupRetentionMs ?? 1000,
    instanceRetentionMs: options.instanceRetentionMs ?? 300_000,
  });
  const faults = new Faults();
  for (const rule of options.throttle ?? []) faults.addThrottle(rule);
  for (const g of options.groups ?? []) cloud.putGroup(g);
  const calls = new Map<string, number>();
  const ctx = { cloud, faults, region, credentials: options.credentials, calls, logger };
  await backend.start();

  const server = await listenHttp(options.host ?? '127.0.0.1', options.port ?? 0, (req, res, url, body) => {
    if (url.pathname.startsWith('/_standin/')) serveControl(cloud, faults, calls, req.method ?? 'GET', url.pathname, body, res);
    else serveApi(ctx, req, res, url, body);
  });
  const port = portOf(server);
  const stopping = new AbortController();
  const loop = runLifecycle(() => cloud.tick(), clock, options.tickMs ?? 50, stopping.signal, logger);

  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://${options.host ?? '127.0.0.1'}:${port}`,
    cloud,
    faults,
    calls,
    stop() {
      stopped ??= (async () => {
        stopping.abort();
        await loop;
        await closeHttp(server);
        await cloud.shutdown();
        await backend.shutdown();
        if (tempState) rmSync(tempState, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
