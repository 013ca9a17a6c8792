import { nullLogger, systemClock, RunnerError, type Clock, type Logger } from '@fleetrunner/common';
import type { ConnectInfo } from '@fleetrunner/fleeting';
import { SshConnection } from './connection.js';
import { dialSsh } from './dial.js';
import { HostKeyStore } from './host-keys.js';
import { dialTarget } from './merge.js';
import type { Connection, ConnectorSettings } from './types.js';

/** Options of {@link SshConnector}. */
export interface SshConnectorOptions {
  /** `[runners.autoscaler.connector_config]`. */
  settings?: ConnectorSettings;
  hostKeys?: HostKeyStore;
  clock?: Clock;
  logger?: Logger;
}

/**
 * Dials instances over SSH and keeps one authenticated connection per instance, reused by every stage and every later
 * job on it; a closed or failed connection is re-dialled on the next `connect`. Concurrent `connect` calls for one
 * instance share one dial.
 */
export class SshConnector {
  readonly hostKeys: HostKeyStore;
  private readonly settings: ConnectorSettings;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly conns = new Map<string, Promise<SshConnection>>();
  private state: 'running' | 'shutdown' = 'running';

  constructor(options: SshConnectorOptions = {}) {
    this.settings = options.settings ?? {};
    this.hostKeys = options.hostKeys ?? new HostKeyStore();
    this.clock = options.clock ?? systemClock;
    this.logger = (options.logger ?? nullLogger).child({ component: 'connector' });
  }

  /**
   * A live connection to the instance described by `info` (the plugin's fresh ConnectInfo), dialling if needed.
   */
  async connect(info: ConnectInfo, options: { signal?: AbortSignal } = {}): Promise<Connection> {
    if (this.state === 'shutdown') throw new RunnerError('unavailable', 'connector is shut down');
    const existing = this.conns.get(info.id);
    if (existing) {
      const conn = await existing.catch(() => undefined);
      if (conn && conn.state === 'open') return conn;
      if (this.conns.get(info.id) === existing) this.conns.delete(info.id);
      else return this.connect(info, options);
    }
    const target = dialTarget(this.settings, info);
    const address = `${target.host}:${target.port}`;
    const dialing = dialSsh(target, { hostKeys: this.hostKeys, clock: this.clock, ...(options.signal ? { signal: options.signal } : {}) }).then(
      (client) => {
        const conn = new SshConnection(info.id, address, client, this.logger);
        if (this.state === 'shutdown') conn.close();
        return conn;
      },
    );
    this.conns.set(info.id, dialing);
    try {
      const conn = await dialing;
      this.logger.debug('connected', { instance: info.id, address });
      return conn;
    } catch (err) {
      if (this.conns.get(info.id) === dialing) this.conns.delete(info.id);
      throw err;
    }
  }

  /**
   * A new connection to a machine reached through `through` (a nested VM on an instance: `info.internalAddr` as
   * the instance sees it), with `settings` (`vm_isolation.connector_config`) filling what `info` leaves empty. It is
   * not pooled: the caller closes it, and its host key is forgotten then (every VM is new).
   */
  async connectThrough(through: Connection, info: ConnectInfo, settings: ConnectorSettings, options: { signal?: AbortSignal } = {}): Promise<Connection> {
    if (this.state === 'shutdown') throw new RunnerError('unavailable', 'connector is shut down');
    const target = dialTarget(settings, info);
    const address = `${target.host}:${target.port}`;
    const client = await dialSsh(target, {
      hostKeys: this.hostKeys,
      clock: this.clock,
      ...(options.signal ? { signal: options.signal } : {}),
      via: (signal) => through.forwardTcp(target.host, target.port, signal ? { signal } : {}),
    });
    const conn = new SshConnection(info.id, address, client, this.logger);
    client.once('close', () => this.hostKeys.forget(info.id));
    this.logger.debug('connected through instance', { instance: through.instanceId, target: info.id, address });
    return conn;
  }

  /** Closes the instance's connection and forgets its pinned host key (the instance is gone). */
  forget(instanceId: string): void {
    const c = this.conns.get(instanceId);
    this.conns.delete(instanceId);
    this.hostKeys.forget(instanceId);
    void c?.then((conn) => conn.close(), () => undefined);
  }

  /** Closes every connection; idempotent. */
  shutdown(): void {
    this.state = 'shutdown';
    for (const id of [...this.conns.keys()]) {
      const c = this.conns.get(id);
      this.conns.delete(id);
      void c?.then((conn) => conn.close(), () => undefined);
    }
  }
}
