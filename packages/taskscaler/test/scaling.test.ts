import t from 'tap';
import { FakeClock, RunnerError } from '@fleetrunner/common';
import { MemoryInstanceGroup } from './support/memory-group.js';
import { T0, acquireAll, settle, start } from './support/harness.js';

t.test('idle_count creates warm slots; preemptive reserve waits for them', async (t) => {
  const { ts, group, clock } = await start({ config: { policies: [{ idleCount: 2 }] }, groupOptions: { creationDelayMs: 30_000 } });
  t.same(group.calls.increase, [2], 'two instances asked for at start');
  t.throws(() => ts.reserve('a'), { code: 'no_capacity' }, 'nothing ready yet');
  // Running at 30 s; seen by the next update (at most update_interval_when_expecting later).
  await clock.advance(32_000);
  t.equal(ts.stats().instances.ready, 2);
  ts.reserve('a');
  ts.reserve('b');
  t.throws(() => ts.reserve('c'), { code: 'no_capacity', details: { kind: 'available' } });
  const a = await ts.acquire('a');
  t.equal(a.slot, 0);
  t.match(a.connectInfo, { id: a.instanceId, username: 'runner' });
  t.equal(ts.stats().slots.acquired, 1);
  await ts.shutdown();
});

t.test('idle_time: idle instances beyond the target go after idle_time, longest idle first', async (t) => {
  const { ts, group, clock, decisions } = await start({
    config: { policies: [{ idleCount: 1, idleTimeMs: 10 * 60_000, preemptiveMode: false }] },
  });
  await clock.advance(2_000);
  const acqs = await acquireAll(ts, clock, ['a', 'b', 'c']);
  t.equal(group.live, 4, 'three busy plus one idle');
  for (const a of acqs) {
    a.release();
    await clock.advance(1_000);
  }
  const removedAt = clock.now();
  // The spare instance has been idle since it became ready; the other three since their release.
  const firstDue = Math.min(...ts.instances().map((i) => i.idleSince)) + 10 * 60_000;
  await clock.set(firstDue - 1);
  t.same(group.calls.decrease, [], 'nothing is removed before idle_time');
  await clock.set(removedAt + 10 * 60_000);
  const removed = group.calls.decrease.flat();
  t.equal(removed.length, 3, 'four idle slots, target one: three go');
  t.notOk(removed.includes(acqs[2]!.instanceId), 'the most recently used instance stays');
  t.ok(clock.now() - removedAt >= 10 * 60_000);
  t.equal(decisions.filter((d) => d.action === 'down' && d.reason === 'idle').length, 3);
  t.match(decisions.find((d) => d.reason === 'idle')!.detail, /idle for 10m\ds \(idle_time 10m0s\)/);
  await clock.advance(2_000);
  t.equal(ts.stats().instances.ready, 1);
  t.equal(ts.stats().slots.idle, 1);
  await ts.shutdown();
});

t.test('scale_factor and scale_factor_limit raise the idle target with load', async (t) => {
  const cases: [string, number, number][] = [
    ['factor 0.5 of 4 in use', 0, 2],
    ['capped by scale_factor_limit', 1, 1],
  ];
  for (const [name, limit, idle] of cases) {
    const { ts, group, clock } = await start({ config: { policies: [{ scaleFactor: 0.5, scaleFactorLimit: limit, preemptiveMode: false }] } });
    await acquireAll(ts, clock, ['a', 'b', 'c', 'd']);
    await clock.advance(4_000);
    t.equal(group.live, 4 + idle, name);
    t.equal(ts.stats().slots.idle, idle, `${name}: idle slots`);
    await ts.shutdown();
  }
});

t.test('max_instances and the plugin max size cap every state', async (t) => {
  const cases: [string, number, number][] = [
    ['max_instances', 3, 0],
    ['plugin max size', 0, 2],
    ['the smaller of both', 5, 2],
  ];
  for (const [name, maxInstances, maxSize] of cases) {
    const { ts, group, clock, decisions } = await start({ config: { maxInstances, policies: [{ idleCount: 10 }] }, groupOptions: { maxSize, creationDelayMs: 5_000 } });
    await clock.advance(30_000);
    const cap = Math.min(...[maxInstances, maxSize].filter((n) => n > 0));
    t.equal(group.peak, cap, `${name}: never more than ${cap}`);
    t.equal(ts.stats().maxInstances, cap);
    t.ok(decisions.some((d) => d.reason === 'limit' && d.action === 'none'), `${name}: the limit is explained`);
    await ts.shutdown();
  }
});

t.test('scale_throttle: a token bucket spaces out creation', async (t) => {
  const { ts, group, clock, decisions } = await start({ config: { scaleThrottle: { limit: 1, burst: 2 }, policies: [{ idleCount: 5 }] }, groupOptions: { creationDelayMs: 60_000 } });
  t.same(group.calls.increase, [2], 'the burst at once');
  t.match(decisions.at(-1), { action: 'up', count: 2, reason: 'idle_target', detail: /wanted 5; throttled/ });
  await clock.advance(1_000);
  t.same(group.calls.increase, [2, 1]);
  await clock.advance(2_000);
  t.same(group.calls.increase, [2, 1, 1, 1], 'one per second after the burst');
  t.equal(group.live, 5);
  await ts.shutdown();
});

t.test('scale_throttle defaults: 100/s, burst max_instances (or the limit)', async (t) => {
  const a = await start({ config: { maxInstances: 150, policies: [{ idleCount: 150 }] } });
  t.same(a.group.calls.increase, [150], 'burst = max_instances');
  await a.ts.shutdown();
  const b = await start({ config: { policies: [{ idleCount: 150 }] } });
  t.same(b.group.calls.increase, [100], 'burst = limit (100)');
  await b.clock.advance(999);
  t.same(b.group.calls.increase, [100], 'throttled passes run at most once a second');
  await b.clock.advance(1);
  t.same(b.group.calls.increase, [100, 50], 'with the tokens of that second');
  await b.ts.shutdown();
  const c = await start({ config: { scaleThrottle: { limit: -1 }, policies: [{ idleCount: 500 }] } });
  t.same(c.group.calls.increase, [500], 'unlimited');
  await c.ts.shutdown();
});

t.test('increase with partial success: the shortfall is retried after a back-off', async (t) => {
  const clock = new FakeClock(T0);
  const group = new MemoryInstanceGroup({ clock, creationDelayMs: 60_000 });
  group.increaseFault = (n) => (n === 3 ? { succeeded: 1, error: new RunnerError('plugin_error', 'quota exceeded') } : undefined);
  const { ts, logs } = await start({ clock, group, config: { policies: [{ idleCount: 3 }] } });
  t.same(group.calls.increase, [3]);
  t.equal(group.live, 1);
  t.equal(ts.stats().instances.creating + ts.stats().instances.requested, 1, 'only the one that succeeded is expected');
  t.equal(ts.stats().counters.instancesRequestFailed, 2);
  t.ok(logs.some((l) => l.msg === 'plugin created fewer instances than asked' && l.fields.err === 'quota exceeded'));
  await clock.advance(4_000);
  t.same(group.calls.increase, [3], 'backing off (5 s)');
  await clock.advance(2_000);
  t.same(group.calls.increase, [3, 2], 'the rest');
  t.equal(group.live, 3);
  await ts.shutdown();
});

t.test('increase that throws backs off exponentially and recovers', async (t) => {
  const clock = new FakeClock(T0);
  const group = new MemoryInstanceGroup({ clock });
  let failures = 2;
  group.increaseFault = () => (failures-- > 0 ? new RunnerError('unavailable', 'cloud down') : undefined);
  const { ts, decisions, logs } = await start({ clock, group, config: { policies: [{ idleCount: 1 }] } });
  t.same(group.calls.increase, [1]);
  ts.configureSchedule([{ idleCount: 1 }]);
  await settle(clock);
  t.match(decisions.at(-1), { action: 'none', reason: 'backoff', detail: /backing off 5s after failures/ });
  await clock.advance(5_000);
  t.same(group.calls.increase, [1, 1], 'after 5 s');
  await clock.advance(9_000);
  t.same(group.calls.increase, [1, 1], 'then 10 s');
  await clock.advance(1_000);
  t.same(group.calls.increase, [1, 1, 1]);
  t.same(logs.filter((l) => l.msg === 'plugin created fewer instances than asked').map((l) => l.fields.backoffMs), [5_000, 10_000]);
  await clock.advance(2_000);
  t.equal(ts.stats().instances.ready, 1);
  await ts.shutdown();
});

t.test('update: right after increase, then backing off to 2 s while expecting, 60 s when steady; failures are counted and survived', async (t) => {
  const clock = new FakeClock(T0);
  const group = new MemoryInstanceGroup({ clock, creationDelayMs: 10_000 });
  const at: number[] = [];
  const update = group.update.bind(group);
  group.update = (o) => (at.push(clock.now() - T0), update(o));
  const { ts } = await start({ clock, group, config: { policies: [{ idleCount: 1 }] } });
  await clock.advance(12_000);
  t.same(
    at,
    [0, 0, 10, 30, 70, 150, 310, 630, 1270, 2550, 4550, 6550, 8550, 10550],
    'start, right after the increase, then 10, 20, 40… ms apart up to 2 s while the instance is creating',
  );
  t.equal(ts.stats().instances.ready, 1);
  const u1 = group.calls.update;
  await clock.advance(180_000);
  t.equal(group.calls.update - u1, 3, 'every 60 s once steady');
  group.failUpdates = 2;
  await clock.advance(120_000);
  t.equal(ts.stats().counters.missedUpdates, 2);
  group.vanish(ts.instances()[0]!.id);
  await clock.advance(60_000);
  t.equal(ts.stats().counters.unexpectedRemovals, 1, 'updates work again');
  await ts.shutdown();
});

t.test('refused deletions are retried every deletion_retry_interval', async (t) => {
  const { ts, group, clock, logs } = await start({ config: { policies: [{ idleCount: 1 }], deletionRetryIntervalMs: 30_000 } });
  await clock.advance(2_000);
  const id = ts.instances()[0]!.id;
  group.refuseDelete.add(id);
  ts.configureSchedule([{ idleCount: 0 }]);
  await settle(clock);
  t.same(group.calls.decrease, [[id]]);
  t.ok(logs.some((l) => l.msg === 'plugin did not accept every deletion; retrying later'));
  await clock.advance(29_000);
  t.same(group.calls.decrease.length, 1, 'not before the retry interval');
  await clock.advance(2_000);
  t.same(group.calls.decrease.length, 2);
  group.refuseDelete.delete(id);
  await clock.advance(32_000);
  t.same(group.calls.decrease.length, 3);
  await clock.advance(2_000);
  t.equal(group.live, 0);
  t.same(ts.instances(), []);
  t.equal(ts.stats().counters.decreaseRefused, 2);
  await ts.shutdown();
});

t.test('policies are swapped at runtime without a restart', async (t) => {
  const { ts, group, clock, decisions } = await start({ config: { policies: [{ idleCount: 0 }] } });
  t.equal(group.live, 0);
  ts.configureSchedule([{ idleCount: 3 }]);
  await settle(clock);
  t.same(group.calls.increase, [3]);
  t.equal(decisions.filter((d) => d.action === 'up').at(-1)?.reason, 'idle_target');
  t.throws(() => ts.configureSchedule([{ periods: ['bad'] }]), { code: 'invalid_argument', message: /^policy\[0\]\.periods\[0\]/ });
  t.equal(ts.stats().policy.idleCount, 3, 'a bad list leaves the old one in force');
  await clock.advance(2_000);
  ts.configureSchedule([{ idleCount: 1, idleTimeMs: 60_000 }]);
  // Ready (and idle) since the update right after the increase.
  const due = Math.max(...ts.instances().map((i) => i.idleSince)) + 60_000;
  await clock.set(due - 1);
  t.equal(group.live, 3);
  await clock.set(due);
  t.equal(group.calls.decrease.flat().length, 2);
  t.equal(group.calls.init, 1, 'one init: nothing restarted');
  await ts.shutdown();
});

t.test('cron periods switch policies as time passes (UTC office hours)', async (t) => {
  // T0 is Monday 12:00 UTC.
  const { ts, group, clock } = await start({
    config: { policies: [{ idleCount: 0 }, { periods: ['* 9-17 * * MON-FRI'], timezone: 'UTC', idleCount: 2 }] },
  });
  t.equal(group.live, 2, 'office hours');
  t.equal(ts.stats().policy.index, 1);
  await clock.advance(6 * 3_600_000 - 1);
  t.equal(group.live, 2, 'still 17:59');
  await clock.advance(60_001);
  t.equal(ts.stats().policy.index, 0, '18:00: the catch-all');
  t.equal(group.live, 0, 'idle_time 0: removed at the next pass');
  await ts.shutdown();
});
