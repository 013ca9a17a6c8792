import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FakeClock } from '@fleetrunner/common';
import type { InstanceStatus } from '@fleetrunner/fleeting';
import { FileStateStore, type SavedState } from '../src/index.js';
import { audit } from '../src/audit.js';
import { InstanceRecord } from '../src/instance.js';
import type { Scaler } from '../src/scaler.js';
import { StateImage, savedInstance } from '../src/state-image.js';
import { stateText } from '../src/state-store.js';
import { MemoryInstanceGroup } from './support/memory-group.js';
import { MemoryStateStore, T0, settle, start } from './support/harness.js';

// The book-keeping that replaces scans of the whole fleet: the positional reconcile, the state image and the
// chunked file write, and the update cadence that follows the taskscaler's own changes.

const noAcquisitions = (): [] => [];

t.test('state image: one text per instance, a removal fills its place from the end, renders are snapshots', async (t) => {
  const image = new StateImage(true);
  const rs = ['a', 'b', 'c'].map((id) => new InstanceRecord(id, 'requested', 2, T0));
  for (const r of rs) image.add(r);
  const first = image.render(noAcquisitions);
  t.same(first, rs.map((r) => JSON.stringify(savedInstance(r, noAcquisitions))));
  t.equal(image.stale, 0);
  rs[0]!.useCount = 5;
  t.same(image.render(noAcquisitions), first, 'a change nobody reported is not re-serialized');
  image.touch(rs[0]!);
  image.remove(rs[1]!);
  t.equal(rs[2]!.imagePos, 1, 'the last instance moved into the hole');
  t.equal(rs[1]!.imagePos, -1);
  const second = image.render(noAcquisitions);
  t.same(second.map((s) => (JSON.parse(s) as { id: string; useCount: number }).id), ['a', 'c']);
  t.match(JSON.parse(second[0]!), { useCount: 5 });
  t.same(first.length, 3, 'the earlier render is untouched');
  image.touch(rs[1]!);
  t.equal(image.stale, 0, 'a removed instance is not made again');
  const off = new StateImage(false);
  off.add(rs[1]!);
  t.equal(off.size, 0, 'disabled: nothing kept');
});

t.test('file store: instance texts give the same file as a whole snapshot, atomically', async (t) => {
  const dir = join(t.testdir(), 'state');
  const store = new FileStateStore(dir);
  const instances = Array.from({ length: 2_500 }, (_, i) => ({ id: `i-${i}`, cause: 'requested' as const, useCount: i % 3, createdAt: T0 + i, acquisitions: [] }));
  const state: SavedState = { version: 1, savedAt: T0, instances };
  await store.saveSerialized(T0, instances.map((i) => JSON.stringify(i)));
  const text = readFileSync(store.location, 'utf8');
  t.equal(text, JSON.stringify(state), 'byte for byte what save() writes');
  t.equal(text, stateText(T0, instances.map((i) => JSON.stringify(i))));
  t.same(await store.load(), state);
  t.equal(statSync(dir).mode & 0o777, 0o700);
  t.equal(statSync(store.location).mode & 0o777, 0o600);
  // A write that fails half-way (here: an instance text that cannot be turned into a string) leaves the old file.
  const poison = { toString: () => { throw new Error('no text'); } } as unknown as string;
  const broken = [...instances.map((i) => JSON.stringify(i)), poison];
  await t.rejects(store.saveSerialized(T0 + 1, broken), { message: /^writing .*instances\.json: no text/ });
  t.equal(readFileSync(store.location, 'utf8'), text, 'the previous state is still there');
  t.same(readdirSync(dir), ['instances.json'], 'no temporary file left behind');
});

/** The file store, telling each finished save (so a test waits on the event, not on time). */
class WatchedFileStore extends FileStateStore {
  private readonly listeners = new Set<() => void>();
  override async saveSerialized(savedAt: number, instances: readonly string[]): Promise<void> {
    await super.saveSerialized(savedAt, instances);
    for (const l of [...this.listeners]) l();
  }
  /** Resolves once `pred` holds for the saved state (checked now and after every save). */
  until(pred: (s: SavedState) => boolean): Promise<SavedState> {
    return new Promise((resolve) => {
      const check = (): void => {
        let s: SavedState | undefined;
        try {
          s = JSON.parse(readFileSync(this.location, 'utf8')) as SavedState;
        } catch {
          return;
        }
        if (!pred(s)) return;
        this.listeners.delete(check);
        resolve(s);
      };
      this.listeners.add(check);
      check();
    });
  }
}

t.test('state storage through instance texts: the file follows every change and a restart re-adopts it', async (t) => {
  const dir = join(t.testdir(), 'state');
  const clock = new FakeClock(T0);
  const group = new MemoryInstanceGroup({ clock });
  const config = { capacityPerInstance: 2, policies: [{ idleCount: 3, idleTimeMs: 3_600_000 }] };
  const store = new WatchedFileStore(dir);
  const { ts } = await start({ clock, group, store, config });
  await clock.advance(2_000);
  const a = await ts.acquire('a');
  await clock.advance(1_000);
  const during = await store.until((s) => s.instances.some((i) => i.acquisitions.length > 0));
  t.match(during.instances.find((s) => s.id === a.instanceId), { useCount: 0, acquisitions: [{ key: 'a', slot: a.slot }] });
  t.same(audit(ts as Scaler), []);
  a.release();
  await ts.shutdown();
  const after = JSON.parse(readFileSync(store.location, 'utf8')) as SavedState;
  t.match(after.instances.find((s) => s.id === a.instanceId), { useCount: 1, acquisitions: [] }, 'the release counted as a use');
  t.same(after.instances.map((s) => s.id).sort(), [...group.instances.keys()].sort(), 'every live instance saved');
  const again = await start({ clock, group, store: new FileStateStore(dir), config });
  t.ok(again.ts.instances().every((i) => i.cause === 'restored'), 'all re-adopted');
  t.equal(again.ts.instances().length, after.instances.length);
  await again.ts.shutdown();
});

t.test('reconcile: order, duplicates, deleted and missing entries, an id coming back', async (t) => {
  const clock = new FakeClock(T0);
  const group = new MemoryInstanceGroup({ clock });
  let transform = (l: InstanceStatus[]): InstanceStatus[] => l;
  const update = group.update.bind(group);
  group.update = async (o) => transform(await update(o));
  const { ts } = await start({ clock, group, store: new MemoryStateStore(), config: { policies: [{ idleCount: 3, idleTimeMs: 3_600_000 }] } });
  await settle(clock);
  const ids = (): string[] => ts.instances().map((i) => i.id).sort();
  t.same(ids(), ['i-1', 'i-2', 'i-3']);
  const check = (what: string): void => {
    t.same(audit(ts as Scaler), [], `${what}: the kept counts equal a recount`);
  };

  transform = (l) => [...l].reverse();
  await ts.tick();
  t.same(ids(), ['i-1', 'i-2', 'i-3'], 'another order loses nothing');
  t.equal(ts.stats().counters.unexpectedRemovals, 0);
  check('reversed');

  transform = (l) => [...l, ...l];
  await ts.tick();
  t.same(ids(), ['i-1', 'i-2', 'i-3'], 'every instance twice');
  check('duplicates');

  // As many entries as known instances, but one of them twice and one missing: the missing one is gone.
  group.vanish('i-2');
  transform = (l) => [l[0]!, ...l];
  await ts.tick();
  t.notOk(ids().includes('i-2'), 'the missing instance is gone');
  t.equal(ts.stats().counters.unexpectedRemovals, 1);
  check('missing behind a duplicate');
  await settle(clock);

  // One reported deleted and another not reported at all, in the same answer.
  transform = (l) => l.filter((s) => s.id !== 'i-3').map((s) => (s.id === 'i-1' ? { ...s, state: 'deleted' } : s));
  await ts.tick();
  t.notOk(ids().includes('i-1'), 'reported deleted: gone');
  t.notOk(ids().includes('i-3'), 'not reported: gone');
  t.equal(ts.stats().counters.unexpectedRemovals, 3);
  check('deleted and missing');

  // The same id again where it used to be: a new instance, not the old record.
  transform = (l) => [{ id: 'i-1', state: 'running' }, ...l];
  await ts.tick();
  const back = ts.instances().find((i) => i.id === 'i-1');
  t.ok(back && back.state !== 'ready', 'known again as a new instance (matched with a request for a replacement)');
  check('an id back');
  transform = (l) => l;
  await ts.shutdown();
});

t.test('a deleted instance is forgotten right after its decrease returns, not at the next interval', async (t) => {
  const { ts, group, clock } = await start({ config: { policies: [{ idleCount: 1, idleTimeMs: 0 }] } });
  await settle(clock);
  t.equal(ts.stats().instances.ready, 1, 'ready from the update right after the increase');
  const at = clock.now();
  ts.configureSchedule([{ idleCount: 0 }]);
  await settle(clock);
  t.equal(group.calls.decrease.length, 1);
  t.same(ts.instances(), [], 'forgotten');
  t.equal(clock.now(), at, 'with no time passing');
  await ts.shutdown();
});

t.test('an instance running after 270 ms is noticed by the follow-up at 310 ms', async (t) => {
  const { ts, clock } = await start({ config: { updateIntervalWhenExpectingMs: 250, policies: [{ idleCount: 1 }] }, groupOptions: { creationDelayMs: 270 } });
  await clock.advance(309);
  t.equal(ts.stats().instances.ready, 0, 'updates at 0, 10, 30, 70, 150: still creating');
  await clock.advance(1);
  t.equal(ts.stats().instances.ready, 1, 'the update at 310 ms sees it running');
  await ts.shutdown();
});

t.test('instancesChanged: an update at once, follow-ups while something is on its way, then the interval', async (t) => {
  const { ts, group, clock } = await start({ config: { policies: [{ idleCount: 1, idleTimeMs: 3_600_000 }] }, groupOptions: { creationDelayMs: 100 } });
  await clock.advance(3_000);
  t.equal(ts.stats().instances.ready, 1);
  const u0 = group.calls.update;
  ts.instancesChanged();
  ts.instancesChanged();
  await settle(clock);
  t.equal(group.calls.update, u0 + 1, 'one update (coalesced), at once');
  await clock.advance(59_999);
  t.equal(group.calls.update, u0 + 1, 'nothing on its way: back to update_interval');
  // An instance created outside the taskscaler (a cloud console): noticed at once when the host says so.
  await group.increase(1);
  ts.instancesChanged();
  await settle(clock);
  t.match(ts.instances(), [{ state: 'ready' }, { cause: 'appeared', state: 'creating' }]);
  await clock.advance(150);
  t.equal(ts.instances()[1]?.state, 'ready', 'followed up while it was creating');
  await ts.shutdown();
});
