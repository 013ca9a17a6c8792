import { RunnerError, hasCode, linkSignals, toRunnerError, type Clock } from '@fleetrunner/common';
import type { Connection } from '@fleetrunner/connector';
import type { ConnectInfo } from '@fleetrunner/fleeting';
import { errorLine, warningLine } from '@fleetrunner/gitlab';
import type { ThroughConnector } from './vm-isolation.js';

/** A slot on a ready instance, as the taskscaler hands it out (structurally its `Acquisition`). */
export interface SlotAcquisition {
  readonly instanceId: string;
  /** Slot number on the instance, 0..capacity_per_instance-1. */
  readonly slot: number;
  readonly connectInfo: ConnectInfo;
  /** Fires when the instance is lost. */
  readonly signal: AbortSignal;
}

/** The taskscaler calls a job's slot needs (the taskscaler package's `Taskscaler` satisfies it). */
export interface SlotPool {
  /** Holds capacity for `key`; throws `no_capacity` when none is left. */
  reserve(key: string): void;
  unreserve(key: string): boolean;
  acquire(key: string, options?: { signal?: AbortSignal }): Promise<SlotAcquisition>;
  release(key: string): boolean;
}

/** What a job needs of a runner's fleet: slots and a way to reach instances. */
export interface InstanceFleet {
  readonly taskscaler: SlotPool;
  readonly connector: { connect(info: ConnectInfo, options?: { signal?: AbortSignal }): Promise<Connection> } & Partial<ThroughConnector>;
}

/** An instance slot with an open connection, ready for the executor. */
export interface PreparedInstance {
  acquisition: SlotAcquisition;
  connection: Connection;
}

/** Options of {@link SlotTicket.prepare}. */
export interface PrepareOptions {
  /** The job log. */
  log: (text: string) => void;
  clock: Clock;
  /** Job-level stop: aborts waiting for a slot and dialling. */
  signal: AbortSignal;
  /** `log_internal_ip` / `log_external_ip`. */
  logInternalIp?: boolean;
  logExternalIp?: boolean;
  /** Attempts, GitLab Runner's 3. */
  attempts?: number;
  /** Wait between attempts, ms; GitLab Runner's 3 s. */
  retryDelayMs?: number;
}

/**
 * One job's slot, from the reservation to the release: the only place that calls reserve, acquire and release
 * for a job (GitLab Runner's manager only calls Acquire/Release; the reservation is ours, so that no job is taken
 * that no slot could run).
 */
export interface SlotTicket {
  /** The taskscaler key. */
  readonly key: string;
  /** How machines behind the instance are reached (nested VMs), when the fleet's connector can. */
  readonly through: ThroughConnector | undefined;
  /**
   * GitLab Runner's executor prepare for the instance executor: acquire the reserved slot (waiting up to
   * `instance_acquire_timeout` for a ready instance), then dial it ("Dialing instance …", "Instance … connected").
   * A failed attempt is logged as "Preparation failed" and retried after 3 s, reusing the acquisition it got; the
   * last error is thrown. A stop through `signal` is not retried.
   */
  prepare(o: PrepareOptions): Promise<PreparedInstance>;
  /** Ends what the ticket holds (reservation, waiting acquire or acquisition). Idempotent. */
  release(): void;
}

/**
 * Reserves capacity for one job on `fleet` under `key`. Throws `no_capacity` (from the taskscaler) when every slot
 * is in use or reserved.
 */
export function reserveSlot(fleet: InstanceFleet, key: string): SlotTicket {
  fleet.taskscaler.reserve(key);
  return new Ticket(fleet, key);
}

/** Options of {@link waitForSlot}. */
export interface WaitForSlotOptions {
  clock: Clock;
  /** How often to try again while the fleet is full, ms (capacity comes back as instances are deleted or freed). */
  retryMs: number;
  signal?: AbortSignal;
  /** Resolves early when capacity may have come back (a job of this process ended). */
  capacityChanged?: () => Promise<void>;
  /**
   * Whether a job that holds a slot of this fleet is still running, so capacity will come back. While none is, the
   * wait gives up after `giveUpAfterMs` with the taskscaler's `no_capacity` error (e.g. preemptive mode with no
   * idle instance, which nothing here would ever create). Default: always true (wait as long as it takes).
   */
  othersRunning?: () => boolean;
  /** See `othersRunning`; ms. */
  giveUpAfterMs?: number;
}

/**
 * Reserves a slot, waiting while every slot is in use or reserved — a job for which no slot is free stays queued,
 * as a pending job waits at GitLab — instead of failing it. Other errors are thrown.
 */
export async function waitForSlot(fleet: InstanceFleet, key: string, o: WaitForSlotOptions): Promise<SlotTicket> {
  let hopeSince = o.clock.now();
  for (;;) {
    o.signal?.throwIfAborted();
    try {
      return reserveSlot(fleet, key);
    } catch (err) {
      if (!hasCode(err, 'no_capacity')) throw err;
      const now = o.clock.now();
      if (!o.othersRunning || o.othersRunning()) hopeSince = now;
      else if (o.giveUpAfterMs !== undefined && now - hopeSince >= o.giveUpAfterMs) throw err;
    }
    const wait = new AbortController();
    const link = linkSignals(o.signal, wait.signal);
    try {
      await Promise.race([o.clock.sleep(o.retryMs, { signal: link.signal }), ...(o.capacityChanged ? [o.capacityChanged()] : [])]);
    } finally {
      wait.abort();
      link.dispose();
    }
  }
}

class Ticket implements SlotTicket {
  private acq: SlotAcquisition | undefined;

  constructor(
    private readonly fleet: InstanceFleet,
    readonly key: string,
  ) {}

  get through(): ThroughConnector | undefined {
    const c = this.fleet.connector;
    return c.connectThrough ? { connectThrough: c.connectThrough.bind(c) } : undefined;
  }

  async prepare(o: PrepareOptions): Promise<PreparedInstance> {
    const attempts = o.attempts ?? 3;
    const retryDelayMs = o.retryDelayMs ?? 3000;
    const ts = this.fleet.taskscaler;
    for (let attempt = 1; ; attempt++) {
      try {
        if (!this.acq || this.acq.signal.aborted) {
          if (this.acq) {
            ts.release(this.key);
            this.acq = undefined;
          }
          o.log('Preparing instance...\n');
          this.acq = await ts.acquire(this.key, { signal: o.signal });
        }
        const acq = this.acq;
        o.log(dialingLine(acq, o));
        const link = linkSignals(o.signal, acq.signal);
        try {
          const connection = await this.fleet.connector.connect(acq.connectInfo, { signal: link.signal });
          o.log(`Instance ${acq.instanceId} connected\n`);
          return { acquisition: acq, connection };
        } finally {
          link.dispose();
        }
      } catch (err) {
        const e = toRunnerError(err);
        if (o.signal.aborted) throw o.signal.reason instanceof Error ? o.signal.reason : e;
        const what = e.code === 'acquire_timeout' ? e.message : `unable to ${this.acq ? 'connect to instance' : 'acquire instance'}: ${e.message}`;
        o.log(errorLine(`Preparation failed: ${what}`));
        if (attempt >= attempts || e.code === 'invalid_argument') throw new RunnerError(e.code, what, { cause: err });
        o.log(warningLine(`Will be retried in ${Math.round(retryDelayMs / 1000)}s ...`));
        await o.clock.sleep(retryDelayMs, { signal: o.signal });
      }
    }
  }

  release(): void {
    this.acq = undefined;
    this.fleet.taskscaler.release(this.key);
  }
}

function dialingLine(acq: SlotAcquisition, o: PrepareOptions): string {
  const parts = [`Dialing instance ${acq.instanceId}`];
  if (o.logInternalIp && acq.connectInfo.internalAddr) parts.push(acq.connectInfo.internalAddr);
  if (o.logExternalIp && acq.connectInfo.externalAddr) parts.push(acq.connectInfo.externalAddr);
  return `${parts.join(', ')}...\n`;
}
