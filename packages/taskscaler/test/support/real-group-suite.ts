import type { Test } from 'tap';
import { systemClock } from '@fleetrunner/common';
import { defaultConnectorConfig, type ConnectInfo, type InstanceGroup } from '@fleetrunner/fleeting';
import { createTaskscaler, type Taskscaler, type TaskscalerConfig } from '../../src/index.js';
import { CountingGroup } from './counting-group.js';

/** A way to reach one fleet: each `open` is a fresh connection (for a plugin: a fresh process). */
export interface RealGroupTarget {
  open(t: Test): Promise<{ group: InstanceGroup; stop(): Promise<void> }>;
  /** Handed to init as plugin_config. */
  pluginConfig: Record<string, unknown>;
  /** Proves an acquired instance is really there (e.g. reads its SSH banner). */
  probe(info: ConnectInfo): Promise<void>;
}

/** Short real-time intervals: the suite waits on events (acquire, shutdown), never on fixed sleeps. */
export function realConfig(target: RealGroupTarget, dir: string, extra: TaskscalerConfig = {}): TaskscalerConfig {
  return {
    updateIntervalMs: 1_000,
    updateIntervalWhenExpectingMs: 100,
    deletionRetryIntervalMs: 1_000,
    shutdownDeletionIntervalMs: 200,
    shutdownDeletionRetries: 100,
    instanceAcquireTimeoutMs: 60_000,
    stateStorage: { dir },
    instanceGroup: { pluginConfig: target.pluginConfig, connector: defaultConnectorConfig() },
    ...extra,
  };
}

async function open(t: Test, target: RealGroupTarget, dir: string, extra: TaskscalerConfig = {}): Promise<{ ts: Taskscaler; group: CountingGroup; stop(): Promise<void> }> {
  const { group, stop } = await target.open(t);
  const counting = new CountingGroup(group);
  const ts = await createTaskscaler(counting, realConfig(target, dir, extra), { clock: systemClock, hooks: { instanceReady: (i) => target.probe(i.connectInfo) } });
  return {
    ts,
    group: counting,
    stop: async () => {
      await ts.shutdown();
      await stop();
    },
  };
}

/**
 * The taskscaler against a real InstanceGroup: warm slots and acquisitions on real instances, re-adoption by a
 * new process from the state file without doubling, and deletion of everything at shutdown.
 */
export async function realGroupSuite(t: Test, target: RealGroupTarget): Promise<void> {
  const dir = t.testdir();
  // Not preemptive, so that acquire waits for the instances to come up instead of failing fast.
  const policies = [{ idleCount: 2, idleTimeMs: 600_000, preemptiveMode: false }];

  const first = await open(t, target, dir, { capacityPerInstance: 2, maxInstances: 3, policies });
  const a = await first.ts.acquire('job-a');
  const b = await first.ts.acquire('job-b');
  t.equal(a.instanceId, b.instanceId, 'two slots of one instance');
  t.same([a.slot, b.slot], [0, 1]);
  await target.probe(a.connectInfo);
  t.notOk(a.signal.aborted);
  a.release();
  b.release();
  const fleet = first.ts.instances().map((i) => i.id).sort();
  t.ok(fleet.length >= 1 && fleet.length <= 3, `a small fleet: ${fleet.join(', ')}`);
  await first.stop();

  const second = await open(t, target, dir, { capacityPerInstance: 2, maxInstances: 3, policies });
  t.same(second.ts.instances().map((i) => i.id).sort(), fleet, 'a new process re-adopts the same instances');
  t.ok(second.ts.instances().every((i) => i.cause === 'restored'));
  const c = await second.ts.acquire('job-c');
  t.ok(fleet.includes(c.instanceId), 'work lands on a re-adopted instance');
  c.release();
  await second.stop();
  t.same(second.group.increases, [], 'the restart asked for no instance');

  const third = await open(t, target, dir, { capacityPerInstance: 2, maxInstances: 3, policies, deleteInstancesOnShutdown: true });
  await third.stop();
  t.same(third.group.decreases.flat().sort(), fleet, 'delete_instances_on_shutdown deletes the fleet');
  t.same(await liveInstances(t, target), [], 'nothing left');
}

/** Ids the fleet still has, asked through a fresh connection. */
export async function liveInstances(t: Test, target: RealGroupTarget): Promise<string[]> {
  const { group, stop } = await target.open(t);
  try {
    await group.init({ pluginConfig: target.pluginConfig, connector: defaultConnectorConfig() });
    return (await group.update()).filter((s) => s.state !== 'deleted').map((s) => s.id);
  } finally {
    await stop();
  }
}

/** Deletes whatever a failed test left behind: a taskscaler without saved state removes every instance it finds. */
export async function cleanUp(t: Test, target: RealGroupTarget): Promise<void> {
  const { group, stop } = await target.open(t);
  try {
    const ts = await createTaskscaler(group, realConfig(target, '', { stateStorage: { enabled: false }, deleteInstancesOnShutdown: true }), { clock: systemClock });
    await ts.shutdown();
  } finally {
    await stop();
  }
}
