import t from 'tap';
import { Backoff, TokenBucket } from '../src/index.js';

t.test('token bucket: starts full, refills at the rate, caps at the burst', async (t) => {
  const b = new TokenBucket(2, 3, 0);
  t.equal(b.take(5, 0), 3, 'burst');
  t.equal(b.take(1, 0), 0);
  t.equal(b.msUntilToken(0), 500, '2 per second');
  t.equal(b.available(499), 0);
  t.equal(b.available(500), 1);
  t.equal(b.available(10_000), 3, 'capped at burst');
  const unlimited = new TokenBucket(Infinity, 1, 0);
  t.equal(unlimited.take(1000, 0), 1000);
  t.equal(unlimited.msUntilToken(0), 0);
});

t.test('back-off doubles from 5 s to 5 min and resets on success', async (t) => {
  const b = new Backoff();
  const waits = [1, 2, 3, 4, 5, 6, 7, 8].map(() => b.fail(0));
  t.same(waits, [5_000, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]);
  t.equal(b.remaining(100_000), 200_000);
  b.succeed();
  t.equal(b.remaining(0), 0);
  t.equal(b.fail(0), 5_000);
});
