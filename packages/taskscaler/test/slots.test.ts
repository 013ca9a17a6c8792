import t from 'tap';
import { T0, settle, start } from './support/harness.js';

t.test('slot numbers are 0..n-1, stable, and reused lowest first', async (t) => {
  const { ts, clock } = await start({ config: { capacityPerInstance: 3, policies: [{ idleCount: 3 }] } });
  await clock.advance(2_000);
  const a = await ts.acquire('a');
  const b = await ts.acquire('b');
  const c = await ts.acquire('c');
  t.same([a.slot, b.slot, c.slot], [0, 1, 2]);
  t.equal(new Set([a.instanceId, b.instanceId, c.instanceId]).size, 1, 'one instance of three slots');
  t.ok(ts.release('b'));
  t.equal(a.slot, 0, 'the others keep their numbers');
  t.equal(c.slot, 2);
  await clock.advance(2_000);
  const d = await ts.acquire('d');
  t.equal(d.slot, 1, 'the freed number comes back');
  t.same(ts.instances().find((i) => i.id === a.instanceId)?.slots, ['a', 'd', 'c']);
  await ts.shutdown();
});

t.test('work is packed onto busy instances so whole instances stay idle', async (t) => {
  const { ts, clock } = await start({ config: { capacityPerInstance: 2, policies: [{ idleCount: 4 }] } });
  await clock.advance(2_000);
  t.equal(ts.stats().instances.ready, 2);
  const a = await ts.acquire('a');
  const b = await ts.acquire('b');
  t.equal(a.instanceId, b.instanceId);
  await ts.shutdown();
});

t.test('keys: duplicates are refused; unreserve/release of unknown keys are no-ops', async (t) => {
  const { ts, clock } = await start({ config: { policies: [{ idleCount: 2 }] } });
  await clock.advance(2_000);
  ts.reserve('k');
  t.throws(() => ts.reserve('k'), { code: 'invalid_argument', message: /already in use \(reserved\)/ });
  const k = await ts.acquire('k');
  await t.rejects(ts.acquire('k'), { code: 'invalid_argument', message: /acquired/ });
  t.equal(ts.unreserve('k'), false, 'an acquisition is not a reservation');
  t.equal(ts.unreserve('nope'), false);
  t.equal(ts.release('nope'), false);
  k.release();
  t.equal(ts.release('k'), false, 'release is idempotent');
  t.equal(ts.stats().slots.acquired, 0);
  t.equal(ts.stats().counters.releases, 1);
  ts.reserve('r');
  t.equal(ts.unreserve('r'), true);
  t.equal(ts.stats().slots.reserved, 0);
  await ts.shutdown();
});

t.test('non-preemptive: reserve within potential capacity, acquire waits for provisioning', async (t) => {
  const { ts, group, clock } = await start({
    config: { maxInstances: 2, capacityPerInstance: 2 },
    groupOptions: { creationDelayMs: 20_000 },
  });
  t.equal(group.live, 0, 'idle_count 0: nothing at start');
  for (const k of ['a', 'b', 'c', 'd']) ts.reserve(k);
  t.throws(() => ts.reserve('e'), { code: 'no_capacity', details: { kind: 'potential' } }, '2 instances × 2 slots');
  t.equal(ts.stats().counters.reserveFailedPotential, 1);
  t.equal(group.live, 0, 'reservations alone create nothing (reservation throttling)');
  const pa = ts.acquire('a');
  const pb = ts.acquire('b');
  const pc = ts.acquire('c');
  await settle(clock);
  t.same(group.calls.increase, [2], 'three waiting acquires need two instances of two slots');
  t.equal(ts.stats().slots.pending, 3);
  // Running at 20 s; seen by the next update (at most update_interval_when_expecting later).
  await clock.advance(22_000);
  const [a, b, c] = await Promise.all([pa, pb, pc]);
  t.same([a.slot, b.slot, c.slot].sort(), [0, 0, 1]);
  t.equal(ts.stats().slots.pending, 0);
  t.equal(ts.stats().histograms.readinessSeconds.count, 2);
  const readyAt = ts.instances().map((i) => i.readyAt!);
  t.ok(readyAt.every((at) => at >= T0 + 20_000 && at <= T0 + 22_000), 'ready once seen running');
  t.equal(ts.stats().histograms.readinessSeconds.sum, readyAt.reduce((x, at) => x + (at - T0) / 1000, 0), 'asked for at 0, counted to readiness');
  await ts.shutdown();
});

t.test('acquire times out after instance_acquire_timeout with a clear error, and leaves no timer', async (t) => {
  const { ts, group, clock } = await start({ config: { maxInstances: 1, instanceAcquireTimeoutMs: 5 * 60_000 }, groupOptions: { creationDelayMs: 3_600_000 } });
  const p = ts.acquire('slow');
  const rejected = t.rejects(p, {
    code: 'acquire_timeout',
    message: /^acquiring instance: no slot on a ready instance became free within 5m0s \(instance_acquire_timeout\); instances: 0 ready, 1 starting/,
  });
  await clock.advance(5 * 60_000);
  await rejected;
  t.equal(ts.stats().counters.acquireTimeouts, 1);
  t.equal(ts.stats().slots.pending, 0);
  ts.reserve('slow');
  t.ok(ts.unreserve('slow'), 'the key is free again');
  t.equal(group.live, 1);
  await ts.shutdown();
  t.equal(clock.pendingTimers, 0);
});

t.test('default acquire timeout is 15 minutes', async (t) => {
  const { ts, clock } = await start({ config: { maxInstances: 1 }, groupOptions: { creationDelayMs: 3_600_000 } });
  let settled = false;
  const p = ts.acquire('x').finally(() => (settled = true));
  void p.catch(() => {});
  await clock.advance(15 * 60_000 - 1);
  t.notOk(settled);
  await clock.advance(1);
  await t.rejects(p, { code: 'acquire_timeout', message: /15m0s/ });
  await ts.shutdown();
});

t.test('a waiting acquire ends on its signal or on release', async (t) => {
  const { ts, clock } = await start({ groupOptions: { creationDelayMs: 60_000 } });
  const ac = new AbortController();
  const p1 = ts.acquire('one', { signal: ac.signal });
  const p2 = ts.acquire('two');
  await settle(clock);
  ac.abort(new Error('job cancelled'));
  await t.rejects(p1, { message: 'job cancelled' });
  t.ok(ts.release('two'));
  await t.rejects(p2, { code: 'aborted', message: /released before it completed/ });
  t.equal(ts.stats().slots.pending, 0);
  t.equal(ts.stats().slots.reserved, 0);
  await ts.shutdown();
  t.equal(clock.pendingTimers, 0);
});

t.test('waiters are served in arrival order', async (t) => {
  const { ts, clock } = await start({ config: { maxInstances: 3 }, groupOptions: { creationDelayMs: 10_000 } });
  const order: string[] = [];
  const ps = ['w1', 'w2', 'w3'].map((k) => ts.acquire(k).then((a) => (order.push(k), a)));
  // Running at 10 s; seen by the next update (at most update_interval_when_expecting later).
  await clock.advance(12_000);
  t.same(order, ['w1', 'w2', 'w3']);
  const slots = await Promise.all(ps);
  t.equal(new Set(slots.map((a) => a.instanceId)).size, 3);
  await ts.shutdown();
});

t.test('max_use_count: drains, then deletes; max_use_count=1 gives a fresh instance per job', async (t) => {
  const { ts, group, clock, decisions } = await start({ config: { capacityPerInstance: 2, maxUseCount: 3, policies: [{ idleCount: 1 }] } });
  await clock.advance(2_000);
  const first = await ts.acquire('j1');
  const id = first.instanceId;
  const second = await ts.acquire('j2');
  t.equal(second.instanceId, id);
  first.release();
  const third = await ts.acquire('j3');
  t.equal(third.instanceId, id, 'third use of the same instance');
  t.equal(ts.instances().find((i) => i.id === id)?.state, 'draining', '3 uses booked: no new work');
  t.equal(ts.stats().slots.unavailable, 0, 'both slots are taken');
  second.release();
  t.equal(ts.stats().slots.unavailable, 1, 'the freed slot is closed by max_use_count');
  await clock.advance(2_000);
  const fourth = await ts.acquire('j4');
  t.not(fourth.instanceId, id, 'new work goes elsewhere');
  t.same(group.calls.decrease, [], 'not deleted while a job runs');
  third.release();
  await settle(clock);
  t.same(group.calls.decrease, [[id]]);
  t.match(
    decisions.filter((d) => d.action === 'down'),
    [{ reason: 'max_use_count', detail: new RegExp(`removing instance ${id}: used 3 times`) }],
  );
  await ts.shutdown();

  const one = await start({ config: { maxUseCount: 1, policies: [{ idleCount: 1 }] } });
  await one.clock.advance(2_000);
  const ids = new Set<string>();
  for (let i = 0; i < 3; i++) {
    const a = await one.ts.acquire(`job${i}`);
    ids.add(a.instanceId);
    a.release();
    await one.clock.advance(2_000);
  }
  t.equal(ids.size, 3, 'every job on its own instance');
  t.equal(one.group.calls.decrease.flat().length, 3);
  await one.ts.shutdown();
});

t.test('an instance that vanishes aborts its acquisitions at once', async (t) => {
  const { ts, group, clock } = await start({ config: { capacityPerInstance: 2, policies: [{ idleCount: 2 }] } });
  await clock.advance(2_000);
  const a = await ts.acquire('a');
  const b = await ts.acquire('b');
  t.equal(a.instanceId, b.instanceId);
  group.vanish(a.instanceId);
  t.notOk(a.signal.aborted);
  await ts.tick();
  t.ok(a.signal.aborted && b.signal.aborted, 'the first update that misses it aborts both');
  t.match(a.signal.reason, { code: 'instance_not_found', message: /was removed unexpectedly/ });
  t.equal(ts.stats().counters.unexpectedRemovals, 1);
  t.equal(ts.stats().slots.acquired, 0);
  t.equal(ts.release('a'), false, 'the acquisition is already over');
  await clock.advance(2_000);
  ts.reserve('a');
  t.ok(ts.unreserve('a'), 'the key can be used again');
  await ts.shutdown();
});

t.test('an instance deleted outside the taskscaler aborts its acquisitions and is replaced', async (t) => {
  const { ts, group, clock } = await start({ config: { policies: [{ idleCount: 1 }] }, groupOptions: { deletionDelayMs: 120_000 } });
  await clock.advance(2_000);
  const a = await ts.acquire('a');
  group.deleteExternally(a.instanceId);
  await ts.tick();
  t.match(a.signal.reason, { code: 'instance_not_found', message: /being deleted outside the taskscaler/ });
  t.equal(ts.instances().find((i) => i.id === a.instanceId)?.state, 'deleting');
  await clock.advance(2_000);
  t.equal(ts.stats().instances.ready, 1, 'a replacement is ready');
  await ts.shutdown();
});

t.test('connect info is cached per instance and refreshed when it expires', async (t) => {
  // Two slots: one instance keeps a slot idle while 'a' runs, so every acquisition lands on it.
  const { ts, group, clock } = await start({ config: { capacityPerInstance: 2, policies: [{ idleCount: 1 }] }, groupOptions: { credentialsTtlMs: 10 * 60_000 } });
  await clock.advance(2_000);
  t.equal(group.calls.connectInfo, 1, 'fetched at readiness');
  const a = await ts.acquire('a');
  a.release();
  t.equal(group.calls.connectInfo, 1, 'served from the cache');
  await clock.advance(9 * 60_000 + 1);
  const b = await ts.acquire('b');
  t.equal(group.calls.connectInfo, 2, 'within 60 s of expiry: fetched again');
  t.ok(b.connectInfo.expiresAt! > clock.now() + 60_000);
  await b.refreshConnectInfo();
  t.equal(group.calls.connectInfo, 3);
  await ts.shutdown();
});
