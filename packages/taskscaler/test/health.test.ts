import t from 'tap';
import { RunnerError } from '@fleetrunner/common';
import type { HookInstance } from '../src/index.js';
import { settle, start } from './support/harness.js';

t.test('readiness hook: sees connect info; a failure removes the instance and backs off scale-up', async (t) => {
  const seen: HookInstance[] = [];
  let fail = 1;
  const { ts, group, clock, decisions } = await start({
    config: { policies: [{ idleCount: 1 }] },
    hooks: {
      instanceReady: async (i) => {
        seen.push(i);
        if (fail-- > 0) throw new RunnerError('internal', 'instance_ready_command exited 1');
      },
    },
  });
  await clock.advance(2_000);
  t.equal(seen.length, 1);
  t.match(seen[0], { id: 'i-1', restored: false, connectInfo: { id: 'i-1', username: 'runner' } });
  t.match(decisions.find((d) => d.action === 'down'), { reason: 'ready_failed', detail: /instance_ready_command exited 1/ });
  t.same(group.calls.decrease, [['i-1']]);
  t.equal(ts.stats().counters.readyFailures, 1);
  t.same(group.calls.increase, [1], 'no replacement during the back-off');
  await clock.advance(5_000);
  t.same(group.calls.increase, [1, 1], 'replaced after 5 s');
  await clock.advance(2_000);
  t.equal(ts.stats().instances.ready, 1);
  t.equal(seen.at(-1)?.id, 'i-2');
  await ts.shutdown();
});

t.test('heartbeat before hand-out: a failing instance is skipped, then replaced at failure_threshold', async (t) => {
  const bad = new Set<string>();
  const checks: string[] = [];
  const { ts, group, clock } = await start({
    config: { capacityPerInstance: 2, failureThreshold: 2, policies: [{ idleCount: 4 }] },
    hooks: {
      heartbeat: async (i) => {
        checks.push(i.id);
        if (bad.has(i.id)) throw new RunnerError('instance_unhealthy', `${i.id}: exit 255`);
      },
    },
  });
  await clock.advance(2_000);
  const first = await ts.acquire('a');
  t.same(checks, [first.instanceId], 'checked before the slot was handed out');
  bad.add(first.instanceId);
  const b = await ts.acquire('b');
  t.not(b.instanceId, first.instanceId, 'the failing instance was skipped');
  const info = (): ReturnType<typeof ts.instances>[number] => ts.instances().find((i) => i.id === first.instanceId)!;
  t.match(info(), { failures: 1, state: 'ready' });
  t.equal(ts.stats().slots.unhealthy, 1, 'its free slot takes no work until a check succeeds');
  const c = await ts.acquire('c');
  t.equal(c.instanceId, b.instanceId);
  await clock.advance(2_000);
  t.match(info(), { failures: 2, state: 'unhealthy' }, 'rechecked at the next update: unhealthy');
  t.notOk(first.signal.aborted, 'the running job is left alone');
  t.notOk(group.calls.decrease.flat().includes(first.instanceId), 'not deleted while it holds an acquisition');
  first.release();
  await settle(clock);
  t.ok(group.calls.decrease.flat().includes(first.instanceId), 'replaced once empty');
  t.equal(ts.stats().counters.healthFailures, 2);
  await clock.advance(4_000);
  t.equal(ts.stats().slots.idle, 4, 'the idle target is back');
  await ts.shutdown();
});

t.test('a success resets the failure count', async (t) => {
  const failOnce = new Set<string>();
  const { ts, group, clock } = await start({
    config: { failureThreshold: 2, heartbeatIntervalMs: 5 * 60_000, policies: [{ idleCount: 1, idleTimeMs: 3_600_000 }] },
    hooks: {
      heartbeat: async (i) => {
        if (failOnce.delete(i.id)) throw new Error('flaky');
      },
    },
  });
  await clock.advance(2_000);
  const failures = (): number => ts.instances().find((i) => i.id === 'i-1')!.failures;
  const until = async (want: number): Promise<void> => {
    for (let n = 0; n < 20 && failures() !== want; n++) await clock.advance(30_000);
  };
  for (let round = 0; round < 3; round++) {
    failOnce.add('i-1');
    await until(1);
    t.equal(failures(), 1, `round ${round}: one failure`);
    await until(0);
    t.equal(failures(), 0, `round ${round}: the recheck succeeded`);
  }
  t.notOk(group.calls.decrease.flat().includes('i-1'), 'never two in a row: kept');
  await ts.shutdown();
});

t.test('periodic heartbeats run every heartbeat interval; failing instances are rechecked, then replaced', async (t) => {
  const calls = new Map<string, number>();
  const failing = new Set<string>();
  const { ts, group, clock } = await start({
    config: { failureThreshold: 3, heartbeatIntervalMs: 5 * 60_000, policies: [{ idleCount: 2 }] },
    hooks: {
      heartbeat: async (i) => {
        calls.set(i.id, (calls.get(i.id) ?? 0) + 1);
        if (failing.has(i.id)) throw new Error('ssh: connection refused');
      },
    },
  });
  await clock.advance(2_000);
  await clock.advance(4 * 60_000);
  t.same([...calls.values()], [], 'nothing before the interval');
  await clock.advance(60_000);
  t.same(Object.fromEntries(calls), { 'i-1': 1, 'i-2': 1 }, 'one check each at the first update after 5 minutes');
  failing.add('i-1');
  await clock.advance(5 * 60_000);
  t.equal(calls.get('i-1'), 2);
  t.equal(ts.stats().slots.unhealthy, 1, 'a suspect instance takes no work');
  t.equal(ts.stats().slots.idle, 1);
  await clock.advance(2 * 60_000);
  t.equal(calls.get('i-1'), 4, 'rechecked at every update until the threshold');
  t.same(group.calls.decrease, [['i-1']], 'replaced after three failures');
  t.equal(ts.instances().find((i) => i.id === 'i-2')?.failures, 0);
  await clock.advance(2_000);
  t.equal(ts.stats().slots.idle, 2);
  await ts.shutdown();
});

t.test('the plugin reporting timeout replaces the instance', async (t) => {
  const { ts, group, clock, decisions } = await start({ config: { policies: [{ idleCount: 1 }] }, groupOptions: { creationDelayMs: 60_000 } });
  group.breakInstance('i-1');
  await clock.advance(2_000);
  t.match(decisions.find((d) => d.action === 'down'), { reason: 'broken' });
  t.same(group.calls.decrease, [['i-1']]);
  await clock.advance(2_000);
  t.same(group.calls.increase, [1, 1]);
  await ts.shutdown();
});

t.test('a hook that ignores its signal holds shutdown only until the caller gives up', async (t) => {
  const { ts, clock } = await start({ config: { policies: [{ idleCount: 1 }] }, hooks: { instanceReady: () => new Promise<void>(() => {}) } });
  await clock.advance(2_000);
  t.equal(ts.stats().instances.readying, 1, 'the hook never returns');
  const ac = new AbortController();
  const done = ts.shutdown({ signal: ac.signal });
  await settle(clock);
  t.equal(ts.state, 'stopping', 'waiting for the hook');
  ac.abort(new Error('shutdown_timeout'));
  await done;
  t.equal(ts.state, 'stopped');
  t.equal(clock.pendingTimers, 0);
});
