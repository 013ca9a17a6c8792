import t from 'tap';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeClock, deferred } from '@fleetrunner/common';
import { FileStateStore, createTaskscaler, type HookInstance, type SavedState } from '../src/index.js';
import { Persister } from '../src/persister.js';
import { MemoryInstanceGroup } from './support/memory-group.js';
import { MemoryStateStore, T0, acquireAll, settle, start } from './support/harness.js';

const sample: SavedState = {
  version: 1,
  savedAt: T0,
  instances: [{ id: 'i-1', cause: 'requested', useCount: 2, createdAt: T0, readyAt: T0 + 5, acquisitions: [{ key: 'k', slot: 0, acquiredAt: T0 + 9 }] }],
};

t.test('file store: atomic replace, private modes, round trip', async (t) => {
  const dir = join(t.testdir(), 'state', 'runner');
  const store = new FileStateStore(dir);
  t.equal(await store.load(), undefined, 'nothing saved yet');
  await store.save(sample);
  await store.save({ ...sample, savedAt: T0 + 1 });
  t.same(await store.load(), { ...sample, savedAt: T0 + 1 });
  t.same(readdirSync(dir), ['instances.json'], 'no temporary file left behind');
  t.equal(statSync(dir).mode & 0o777, 0o700);
  t.equal(statSync(store.location).mode & 0o777, 0o600);
});

t.test('file store: unreadable state is an error, never an empty fleet', async (t) => {
  const dir = t.testdir();
  const store = new FileStateStore(dir);
  const cases: [string, string, RegExp][] = [
    ['not JSON', '{"version":1,', /^parsing .*instances\.json: /],
    ['wrong version', '{"version":2,"instances":[]}', /not a version 1 taskscaler state/],
    ['bad field', JSON.stringify({ ...sample, instances: [{ ...sample.instances[0], useCount: 'two' }] }), /instances\[0\]\.useCount: want a number/],
    ['bad cause', JSON.stringify({ ...sample, instances: [{ ...sample.instances[0], cause: 'magic' }] }), /instances\[0\]\.cause: unknown/],
    ['bad acquisition', JSON.stringify({ ...sample, instances: [{ ...sample.instances[0], acquisitions: [{ slot: 0 }] }] }), /acquisitions\[0\]\.key/],
  ];
  for (const [name, text, re] of cases) {
    writeFileSync(store.location, text);
    await t.rejects(store.load(), { code: 'invalid_argument', message: re }, name);
  }
});

t.test('persister: one save at a time; changes during a save fold into one more', async (t) => {
  const gate = deferred<void>();
  const saved: number[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let version = 0;
  const store = {
    location: 'test',
    load: () => Promise.resolve(undefined),
    save: async (s: SavedState) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      if (saved.length === 0) await gate.promise;
      saved.push(s.savedAt);
      inFlight--;
    },
  };
  const p = new Persister(store, () => ({ version: 1, savedAt: version, instances: [] }), () => {}, new FakeClock(T0), 0);
  version = 1;
  p.markDirty();
  version = 2;
  p.markDirty();
  await new Promise((r) => setImmediate(r));
  version = 3;
  p.markDirty();
  version = 4;
  p.markDirty();
  gate.resolve();
  t.ok(await p.flush());
  t.same(saved, [2, 4], 'a burst → one save; changes during it → one more, which flush waits for');
  t.equal(maxInFlight, 1);
});

t.test('persister: at most one save per interval; flush saves at once and leaves no timer', async (t) => {
  const clock = new FakeClock(T0);
  const store = new MemoryStateStore();
  let v = 0;
  const p = new Persister(store, () => ({ version: 1, savedAt: v, instances: [] }), () => {}, clock, 1_000);
  v = 1;
  p.markDirty();
  await clock.advance(0);
  t.equal(store.saves, 1, 'the first change is saved at once');
  for (let i = 2; i <= 5; i++) {
    v = i;
    p.markDirty();
    await clock.advance(100);
  }
  t.equal(store.saves, 1, 'changes within the interval wait');
  await clock.advance(600);
  t.equal(store.saves, 2, 'one save when the interval is over');
  t.equal(store.state?.savedAt, 5, 'with the latest state');
  v = 6;
  p.markDirty();
  await clock.advance(0);
  t.equal(store.saves, 2);
  t.ok(await p.flush());
  t.equal(store.saves, 3);
  t.equal(store.state?.savedAt, 6);
  t.equal(clock.pendingTimers, 0);
});

t.test('persister: a failing save is reported, and flush says so', async (t) => {
  const errors: unknown[] = [];
  let fail = true;
  const store = {
    location: 'test',
    load: () => Promise.resolve(undefined),
    save: () => (fail ? Promise.reject(new Error('disk full')) : Promise.resolve()),
  };
  const p = new Persister(store, () => ({ version: 1, savedAt: 0, instances: [] }), (e) => errors.push(e), new FakeClock(T0), 0);
  t.notOk(await p.flush());
  t.match(errors, [{ message: 'disk full' }]);
  fail = false;
  t.ok(await p.flush(), 'the next save works again');
});

t.test('state storage is on by default and needs a directory', async (t) => {
  const clock = new FakeClock(T0);
  const group = new MemoryInstanceGroup({ clock });
  await t.rejects(createTaskscaler(group, {}, { clock }), { code: 'invalid_argument', message: /^state_storage\.dir: required when state storage is enabled \(the default\)/ });
});

t.test('restart from the state file re-adopts the fleet and never doubles it', async (t) => {
  const dir = t.testdir();
  const clock = new FakeClock(T0);
  const group = new MemoryInstanceGroup({ clock });
  const config = { stateStorage: { dir }, policies: [{ idleCount: 0, idleTimeMs: 3_600_000 }] };
  const first = await start({ clock, group, config });
  const jobs = await acquireAll(first.ts, clock, ['a', 'b', 'c']);
  jobs[0]!.release();
  jobs[1]!.release();
  await first.ts.shutdown();
  const ids = [...group.instances.keys()].sort();
  t.equal(ids.length, 3);
  const saved = JSON.parse(readFileSync(join(dir, 'instances.json'), 'utf8')) as SavedState;
  t.same(saved.instances.map((i) => i.id).sort(), ids, 'every instance is in the state file');

  const ready: HookInstance[] = [];
  const second = await start({ clock, group, config, hooks: { instanceReady: async (i) => void ready.push(i) } });
  await clock.advance(2_000);
  t.same(group.calls.increase, [3], 'no instance asked for after the restart');
  t.same(group.calls.decrease, [[jobs[2]!.instanceId]], 'only the one whose job was cut off by the restart goes');
  t.ok(second.ts.instances().every((i) => i.cause === 'restored'));
  t.equal(second.ts.instances().find((i) => i.id === jobs[0]!.instanceId)?.useCount, 1, 'use counts survive');
  t.same(ready.map((r) => r.restored), [true, true], 'the readiness hook runs again');
  t.equal(second.ts.stats().instances.ready, 2);
  await second.ts.shutdown();
  const third = await start({ clock, group, config });
  await clock.advance(2_000);
  t.same(group.calls.increase, [3], 'a second restart: still no new instance');
  t.equal(third.ts.stats().instances.ready, 2);
  await third.ts.shutdown();
});

t.test('at start, instances without saved state are removed; saved ones that are gone are forgotten', async (t) => {
  const clock = new FakeClock(T0);
  const group = new MemoryInstanceGroup({ clock });
  group.initialised = true;
  group.addForeign('leftover-1');
  group.addForeign('leftover-2', 'creating');
  const store = new MemoryStateStore();
  store.state = { version: 1, savedAt: T0, instances: [{ id: 'gone-1', cause: 'requested', useCount: 0, createdAt: T0, acquisitions: [] }] };
  const { ts, logs, decisions } = await start({ clock, group, store });
  t.same(group.calls.decrease, [['leftover-1', 'leftover-2']]);
  t.same(decisions.filter((d) => d.action === 'down').map((d) => d.reason), ['preexisting', 'preexisting']);
  t.ok(logs.some((l) => l.msg === 'saved instance no longer exists; forgetting it' && l.fields.instance === 'gone-1'));
  await clock.advance(2_000);
  t.equal(group.live, 0);
  await ts.shutdown();
  t.same(store.ids(), []);
});

t.test('without state storage every instance found at start is removed', async (t) => {
  const clock = new FakeClock(T0);
  const group = new MemoryInstanceGroup({ clock });
  group.initialised = true;
  group.addForeign('old-1');
  const { ts } = await start({ clock, group, config: { stateStorage: { enabled: false } } });
  t.same(group.calls.decrease, [['old-1']]);
  await ts.shutdown();
});

t.test('restored instances that had acquisitions: released, then removed unless kept', async (t) => {
  for (const keep of [false, true]) {
    const clock = new FakeClock(T0);
    const group = new MemoryInstanceGroup({ clock });
    const store = new MemoryStateStore();
    const first = await start({ clock, group, store, config: { policies: [{ idleCount: 1 }] } });
    await clock.advance(2_000);
    const a = await first.ts.acquire('job');
    await clock.advance(2_000);
    await first.ts.shutdown();
    t.same(store.state?.instances[0]?.acquisitions.map((x) => x.key), ['job'], 'the acquisition is saved');
    const second = await start({ clock, group, store, config: { policies: [{ idleCount: 1, idleTimeMs: 3_600_000 }], stateStorage: { keepInstanceWithAcquisitions: keep } } });
    await clock.advance(2_000);
    const info = second.ts.instances().find((i) => i.id === a.instanceId);
    if (keep) {
      t.match(info, { state: 'ready', useCount: 1, acquired: 0 }, 'kept: the job counts as a use');
    } else {
      t.same(group.calls.decrease, [[a.instanceId]], 'not kept: removed');
      t.equal(second.ts.instances().find((i) => i.id !== a.instanceId)?.cause, 'restored', 'the other instance is kept');
      t.equal(second.ts.stats().instances.ready, 1, 'and replaced');
    }
    await second.ts.shutdown();
  }
});

t.test('a removal in progress resumes after a restart', async (t) => {
  const clock = new FakeClock(T0);
  const group = new MemoryInstanceGroup({ clock });
  const store = new MemoryStateStore();
  const first = await start({ clock, group, store, config: { policies: [{ idleCount: 1 }] } });
  await clock.advance(2_000);
  group.refuseDelete.add('i-1');
  first.ts.configureSchedule([]);
  await settle(clock);
  await first.ts.shutdown();
  t.equal(store.state?.instances[0]?.removing, 'idle');
  group.refuseDelete.clear();
  const second = await start({ clock, group, store });
  t.same(group.calls.decrease, [['i-1'], ['i-1']], 'deletion re-issued at start');
  await clock.advance(2_000);
  t.equal(group.live, 0);
  await second.ts.shutdown();
});

t.test('shutdown learns about instances still being requested so they are saved', async (t) => {
  const clock = new FakeClock(T0);
  const group = new MemoryInstanceGroup({ clock, creationDelayMs: 60_000 });
  const store = new MemoryStateStore();
  const { ts } = await start({ clock, group, store, config: { policies: [{ idleCount: 2 }] } });
  t.equal(ts.stats().instances.requested, 2, 'asked for, not yet reported');
  await ts.shutdown();
  t.same(store.ids(), ['i-1', 'i-2']);
});

t.test('delete_instances_on_shutdown deletes everything, polling until confirmed', async (t) => {
  const clock = new FakeClock(T0);
  const group = new MemoryInstanceGroup({ clock, deletionDelayMs: 15_000 });
  const store = new MemoryStateStore();
  const { ts } = await start({ clock, group, store, config: { deleteInstancesOnShutdown: true, shutdownDeletionIntervalMs: 10_000, policies: [{ idleCount: 3 }] } });
  await clock.advance(2_000);
  const a = await ts.acquire('job');
  await clock.advance(2_000);
  const u0 = group.calls.update;
  const done = ts.shutdown();
  await clock.advance(30_000);
  await done;
  t.match(a.signal.reason, { code: 'aborted', message: /deleted at shutdown/ }, 'the job learns its instance goes');
  t.equal(group.calls.update - u0, 2, 'polled every shutdown_deletion_interval until gone');
  t.equal(group.live, 0);
  t.same(store.ids(), []);
});

t.test('delete on shutdown: instances that refuse to go stay in the state file', async (t) => {
  const clock = new FakeClock(T0);
  const group = new MemoryInstanceGroup({ clock });
  const store = new MemoryStateStore();
  const { ts, logs } = await start({ clock, group, store, config: { deleteInstancesOnShutdown: true, shutdownDeletionRetries: 2, policies: [{ idleCount: 2 }] } });
  await clock.advance(2_000);
  group.refuseDelete.add('i-2');
  const done = ts.shutdown();
  await clock.advance(20_000);
  await done;
  t.same(group.calls.decrease, [['i-1', 'i-2'], ['i-2']], 'retried each round');
  t.same(store.ids(), ['i-2']);
  t.equal(store.state?.instances[0]?.removing, 'shutdown');
  t.ok(logs.some((l) => l.msg === 'shutdown: instances not confirmed deleted; they stay in the state file'));
});

t.test('shutdown is idempotent, fails waiters, and leaves no timer behind', async (t) => {
  const { ts, group, clock } = await start({ groupOptions: { creationDelayMs: 60_000 } });
  const waiting = ts.acquire('w');
  await settle(clock);
  const s1 = ts.shutdown();
  const s2 = ts.shutdown();
  t.equal(s1, s2);
  t.equal(ts.state, 'stopping');
  await s1;
  t.equal(ts.state, 'stopped');
  await t.rejects(waiting, { code: 'unavailable', message: 'taskscaler is shutting down' });
  t.throws(() => ts.reserve('x'), { code: 'unavailable' });
  await t.rejects(ts.acquire('x'), { code: 'unavailable' });
  await t.rejects(ts.tick(), { code: 'unavailable' });
  t.equal(group.calls.shutdown, 1);
  t.equal(clock.pendingTimers, 0);
  await ts.shutdown();
  t.equal(group.calls.shutdown, 1);
});
