import t from 'tap';
import { FakeClock, retryWithBackoff } from '../src/index.js';

t.test('retryWithBackoff: Backoff with jitter on the clock, the longer server wait, final errors at once, abort', async (t) => {
  const clock = new FakeClock();
  const retryable = new Error('busy');
  const final = new Error('bad');
  const base = { baseDelayMs: 100, maxDelayMs: 300, clock, wrap: (err: unknown, attempts: number) => new Error(`${(err as Error).message} after ${attempts}`) };
  const times: number[] = [];
  let left = 4;
  const done = retryWithBackoff(
    async () => {
      times.push(clock.now());
      if (left-- > 0) throw retryable;
      return 'ok';
    },
    { ...base, classify: () => ({ attempts: 5, retryAfterMs: left === 0 ? 1000 : undefined }), random: () => 1 },
  );
  await clock.advance(5000);
  t.equal(await done, 'ok');
  t.same(times.map((x) => x - times[0]!), [0, 100, 300, 600, 1600], 'delays 100, 200, 300 (capped), then a server wait of 1 s');

  const half = retryWithBackoff(() => Promise.reject(retryable), { ...base, classify: () => ({ attempts: 2 }), random: () => 0 });
  const seen = t.rejects(half, { message: 'busy after 2' });
  await clock.advance(49);
  t.equal(clock.pendingTimers, 1, 'random 0: half the back-off');
  await clock.advance(1);
  await seen;

  let calls = 0;
  await t.rejects(retryWithBackoff(() => (calls++, Promise.reject(final)), { ...base, classify: () => ({ attempts: 1 }) }), { message: 'bad after 1' });
  t.equal(calls, 1);

  const capped = retryWithBackoff(() => Promise.reject(retryable), { ...base, classify: () => ({ attempts: 2, retryAfterMs: 60_000 }), maxRetryAfterMs: 500, random: () => 1 });
  const cappedSeen = t.rejects(capped, { message: 'busy after 2' });
  await clock.advance(500);
  await cappedSeen;

  const ac = new AbortController();
  const aborted = retryWithBackoff(() => Promise.reject(retryable), { ...base, classify: () => ({ attempts: 9 }), signal: ac.signal });
  const rejected = t.rejects(aborted, { name: 'AbortError' });
  await clock.advance(0);
  ac.abort(new DOMException('stop', 'AbortError'));
  await rejected;
  t.equal(clock.pendingTimers, 0, 'no timer left behind');
});
