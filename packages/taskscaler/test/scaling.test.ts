import t from 'tap';
import { settle, start } from './support/harness.js';

t.test('idle_count creates warm slots; preemptive reserve waits for them', async (t) => {
  const { ts, group, clock } = await start({ config: { policies: [{ idleCount: 2 }] }, groupOptions: { creationDelayMs: 30_000 } });
  t.same(group.calls.increase, [2], 'two instances asked for at start');
  t.throws(() => ts.reserve('a'), { code: 'no_capacity' }, 'nothing ready yet');
  await clock.advance(30_000);
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
