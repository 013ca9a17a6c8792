import { RunnerError, systemClock, toRunnerError, type Logger } from '@fleetrunner/common';
import { defaultConnectorConfig, type ConnectInfo, type InstanceState } from '@fleetrunner/fleeting';
import { LocalInstanceGroup } from '@fleetrunner/plugin-local';
import type { ConnectConfig } from 'ssh2';

/** Options of {@link Backend}. */
export interface BackendOptions {
  /** Where the local plugin keeps its instances. */
  stateDir: string;
  /** Loopback subnet of the SSH servers behind the instances. */
  subnet: string;
  /** `ssh2` (default; no system dependency) or `sshd`. */
  mode: 'ssh2' | 'sshd';
  /** Largest number of machines at once. */
  maxSize: number;
  /** Name of the stand-in (`aws-standin`, `gce-standin`): the local group's name and the log component. */
  name: string;
  logger: Logger;
}

/**
 * The machines behind a stand-in's cloud instances: a {@link LocalInstanceGroup}, whose instances are SSH servers
 * on this machine (each its own process tree and loopback address). All calls are serialized by the caller.
 */
export class Backend {
  private readonly group = new LocalInstanceGroup();
  /** Every id this backend has handed out, to tell a new machine from old ones after an increase. */
  private readonly known = new Set<string>();

  constructor(private readonly options: BackendOptions) {}

  /** Starts the local group and removes machines left behind by an earlier stand-in on the same state dir. */
  async start(): Promise<void> {
    await this.group.init(
      {
        pluginConfig: { name: this.options.name, state_dir: this.options.stateDir, subnet: this.options.subnet, mode: this.options.mode, max_size: this.options.maxSize },
        connector: defaultConnectorConfig(),
      },
      { logger: this.options.logger.child({ component: `${this.options.name}-backend` }) },
    );
    const leftovers = (await this.group.update()).filter((s) => s.state !== 'deleted').map((s) => s.id);
    if (leftovers.length > 0) {
      this.options.logger.info('removing machines of an earlier run', { ids: leftovers.join(',') });
      await this.group.decrease(leftovers);
    }
  }

  /** Starts one machine; resolves with its id (it is `creating` until its SSH server answers). */
  async launch(): Promise<string> {
    const res = await this.group.increase(1);
    if (res.succeeded !== 1) throw RunnerError.wrap('starting a machine', res.error ?? 'no machine started', 'unavailable');
    const fresh = (await this.group.update()).map((s) => s.id).filter((id) => !this.known.has(id));
    const id = fresh[0];
    if (id === undefined || fresh.length > 1) throw new RunnerError('internal', `starting a machine: expected one new machine, found ${fresh.length}`);
    this.known.add(id);
    return id;
  }

  /** Current state of every machine; machines missing from the map are gone. */
  async states(): Promise<Map<string, InstanceState>> {
    const out = new Map<string, InstanceState>();
    for (const s of await this.group.update()) if (s.state !== 'deleted') out.set(s.id, s.state);
    return out;
  }

  /** How to log in to a machine (the local group's key and user). */
  connectInfo(id: string): Promise<ConnectInfo> {
    return this.group.connectInfo(id);
  }

  /** The SSH login of machine `id`, for an instance's gateway to relay to. */
  async upstream(id: string): Promise<ConnectConfig> {
    const info = await this.connectInfo(id);
    return { host: info.internalAddr, port: info.protocolPort, username: info.username, privateKey: Buffer.from(info.key) };
  }

  /** Kills a machine and everything running on it. Unknown ids are ignored. */
  async terminate(id: string): Promise<void> {
    const res = await this.group.decrease([id]);
    if (res.error && !res.succeeded.includes(id) && toRunnerError(res.error).code !== 'instance_not_found') {
      throw RunnerError.wrap(`terminating machine ${id}`, res.error);
    }
  }

  /**
   * Kills every machine, waits (up to `waitMs` of real time) until their files are removed, and stops the local
   * group.
   */
  async shutdown(waitMs = 5000): Promise<void> {
    try {
      const ids = [...(await this.states()).keys()];
      if (ids.length > 0) await this.group.decrease(ids);
      const deadline = Date.now() + waitMs;
      while ((await this.states()).size > 0 && Date.now() < deadline) await systemClock.sleep(25);
    } finally {
      await this.group.shutdown();
    }
  }
}
