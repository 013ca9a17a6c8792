import { nullLogger, systemClock, type Clock, type Logger } from '@fleetrunner/common';
import { AddressPool } from './addresses.js';
import { Backend } from './backend.js';
import type { StandinCommonOptions } from './cli.js';
import { Faults } from './faults.js';
import { checkSshPort, runLifecycle } from './server.js';

/** The options every stand-in's start takes besides its cloud's own. Times are milliseconds. */
export interface StandinBaseOptions extends StandinCommonOptions {
  /** Largest number of machines at once; default 64. */
  maxMachines?: number;
  /** Period of the lifecycle loop; default 50. */
  tickMs?: number;
  clock?: Clock;
  logger?: Logger;
}

/** A stand-in's default loopback subnets: its instances' private and public addresses, the machines behind them. */
export interface StandinSubnets {
  subnet: string;
  publicSubnet: string;
  machineSubnet: string;
}

/** What every stand-in sets up the same way before its cloud model. */
export interface StandinParts {
  /** Logs as component `name`. */
  logger: Logger;
  clock: Clock;
  host: string;
  sshPort: number;
  privateAddresses: AddressPool;
  publicAddresses: AddressPool;
  /** With the `throttle` rules of the options. */
  faults: Faults;
  /** Calls received, by the stand-in's names. */
  calls: Map<string, number>;
  /** What every cloud model takes of the parts: `{ clock, logger, privateAddresses, publicAddresses, sshPort }`. */
  model: { clock: Clock; logger: Logger; privateAddresses: AddressPool; publicAddresses: AddressPool; sshPort: number };
  /** The machines behind instances, in `stateDir` unless the options name one (start it once the cloud is set up). */
  backend(stateDir: string): Backend;
  /** Runs `tick` every `tickMs` from now; returns the idempotent stop: the loop ends, then `after` runs. */
  lifecycle(tick: () => Promise<void>, after: () => Promise<void>): () => Promise<void>;
}

/**
 * The common start of stand-in `name` (`aws-standin`): logger, clock, address pools on the subnets (options over
 * `defaults`), the early check that instances can bind their SSH port (default 22), faults, the call counts.
 */
export async function standinParts(name: string, options: StandinBaseOptions, defaults: StandinSubnets): Promise<StandinParts> {
  const logger = (options.logger ?? nullLogger).child({ component: name });
  const clock = options.clock ?? systemClock;
  const sshPort = options.sshPort ?? 22;
  const privateAddresses = new AddressPool(options.subnet ?? defaults.subnet);
  const publicAddresses = new AddressPool(options.publicSubnet ?? defaults.publicSubnet);
  await checkSshPort(privateAddresses, sshPort);
  const faults = new Faults();
  for (const rule of options.throttle ?? []) faults.addThrottle(rule);
  return {
    logger,
    clock,
    host: options.host ?? '127.0.0.1',
    sshPort,
    privateAddresses,
    publicAddresses,
    faults,
    calls: new Map(),
    model: { clock, logger, privateAddresses, publicAddresses, sshPort },
    backend: (stateDir) =>
      new Backend({
        stateDir: options.stateDir ?? stateDir,
        subnet: options.machineSubnet ?? defaults.machineSubnet,
        mode: options.machineMode ?? 'ssh2',
        maxSize: options.maxMachines ?? 64,
        name,
        logger,
      }),
    lifecycle: (tick, after) => {
      const stopping = new AbortController();
      const loop = runLifecycle(tick, clock, options.tickMs ?? 50, stopping.signal, logger);
      let stopped: Promise<void> | undefined;
      return () => {
        stopped ??= (async () => {
          stopping.abort();
          await loop;
          await after();
        })();
        return stopped;
      };
    },
  };
}
