import t from 'tap';
import { FakeClock } from '../src/index.js';

t.test('fake clock fires timers in due order and honours clear', async (t) => {
  const clock = new FakeClock(0);
  const fired: string[] = [];
  clock.setTimeout(() => fired.push('b'), 20);
  clock.setTimeout(() => fired.push('a'), 10);
  const c = clock.setTimeout(() => fired.push('never'), 15);
  c.clear();
  await clock.advance(15);
  t.same(fired, ['a']);
  await clock.advance(5);
  t.same(fired, ['a', 'b']);
  t.equal(clock.now(), 20);
  t.equal(clock.pendingTimers, 0);
});

t.test('sleep rejects when its signal aborts and leaves no timer', async (t) => {
  const clock = new FakeClock(0);
  const ac = new AbortController();
  const p = clock.sleep(1000, { signal: ac.signal });
  ac.abort(new Error('stop'));
  await t.rejects(p, { message: 'stop' });
  t.equal(clock.pendingTimers, 0);
});
