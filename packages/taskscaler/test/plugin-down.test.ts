import t from 'tap';
import { FakeClock, RunnerError, throwIfAborted } from '@fleetrunner/common';
import type { CallOptions, ConnectInfo, DecreaseResult, IncreaseResult, InitSettings, InstanceGroup, InstanceStatus, ProviderInfo } from '@fleetrunner/fleeting';
import { MemoryInstanceGroup } from './support/memory-group.js';
import type { TaskscalerConfig } from '../src/index.js';
import { T0, settle, start, whileAdvancing, type Started } from './support/harness.js';

/**
 * A memory group behind a plugin process that can be down, the way @fleetrunner/fleeting's supervised group
 * reports it: every call rejects with `plugin_restarting` while `down` is set.
 */
class RestartingGroup implements InstanceGroup {
  down = false;
  constructor(readonly inner: MemoryInstanceGroup) {}
  private gate(): void {
    if (this.down) throw new RunnerError('plugin_restarting', 'fleeting plugin memory is not running (restarting): plugin exited unexpectedly (killed by signal SIGKILL)');
  }
  async init(s: InitSettings, o?: CallOptions): Promise<ProviderInfo> {
    this.gate();
    return this.inner.init(s, o);
  }
  async update(o?: CallOptions): Promise<InstanceStatus[]> {
    this.gate();
    return this.inner.update(o);
  }
  async increase(n: number, o?: CallOptions): Promise<IncreaseResult> {
    this.gate();
    return this.inner.increase(n, o);
  }
  async decrease(ids: readonly string[], o?: CallOptions): Promise<DecreaseResult> {
    this.gate();
    return this.inner.decrease(ids, o);
  }
  async connectInfo(id: string, o?: CallOptions): Promise<ConnectInfo> {
    this.gate();
    return this.inner.connectInfo(id, o);
  }
  async heartbeat(id: string, o?: CallOptions): Promise<void> {
    this.gate();
    return this.inner.heartbeat(id, o);
  }
  async shutdown(o?: CallOptions): Promise<void> {
    throwIfAborted(o?.signal);
    if (!this.down) await this.inner.shutdown();
  }
}

/** A taskscaler over a RestartingGroup on a fake clock; heartbeats go to the plugin as `runner run` sends them. */
async function startRestarting(config: TaskscalerConfig): Promise<Started<RestartingGroup> & { inner: MemoryInstanceGroup }> {
  const clock = new FakeClock(T0);
  const inner = new MemoryInstanceGroup({ clock });
  const group = new RestartingGroup(inner);
  const s = await start({ clock, group, config, hooks: { heartbeat: (i, { signal }) => group.heartbeat(i.id, { signal }) } });
  return { ...s, inner };
}

t.test('while the plugin restarts: acquires wait (no health failure, no back-off), then run on the same instance', async (t) => {
  const { ts, clock, logs, group, inner } = await startRestarting({ capacityPerInstance: 1, maxInstances: 2, instanceAcquireTimeoutMs: 60_000, policies: [{ idleCount: 1 }] });
  await clock.advance(3_000);
  t.equal(ts.stats().instances.ready, 1);
  const ready = ts.instances()[0]!.id;

  group.down = true;
  let got: string | undefined;
  const a = ts.acquire('a').then((acq) => (got = acq.instanceId));
  await clock.advance(20_000);
  t.equal(got, undefined, 'the acquire waits while the plugin is down');
  t.equal(ts.stats().instances.ready, 1, 'the instance is not blamed');
  t.equal(ts.stats().counters.healthFailures, 0, 'no health failure counted');
  t.same(inner.calls.increase, [1], 'no scale-up while the plugin is down');
  t.equal(logs.filter((e) => e.msg === 'fleeting plugin is down; new work waits for its restart').length, 1, 'the outage is logged once');

  group.down = false;
  await clock.advance(3_000);
  await a;
  t.equal(got, ready, 'served on the instance that was there all along once an update went through');
  t.ok(logs.some((e) => e.msg === 'fleeting plugin is back'));
  ts.release('a');
  await settle(clock);
  await whileAdvancing(clock, ts.shutdown());
});

t.test('a plugin that stays down: the acquire times out saying the plugin is not running (restarting)', async (t) => {
  const { ts, clock, group, inner } = await startRestarting({ instanceAcquireTimeoutMs: 30_000, policies: [{ idleCount: 0 }] });
  group.down = true;
  const failed = ts.acquire('x').catch((e: unknown) => e);
  await clock.advance(31_000);
  const err = await failed;
  t.match(err, { code: 'acquire_timeout', message: /instance_acquire_timeout\); fleeting plugin memory is not running \(restarting\): plugin exited unexpectedly/ });
  t.same(inner.calls.increase, [], 'nothing was requested from a plugin that is down');
  group.down = false;
  await whileAdvancing(clock, ts.shutdown());
});
