import t from 'tap';
import type { FakeClock } from '@fleetrunner/common';
import type { Taskscaler } from '../src/index.js';
import { acquireAll, start } from './support/harness.js';

/**
 * Workers that long-poll GitLab with no job coming: reserve, hold for `pollMs`, unreserve, reserve again at
 * once. Some reservation is always outstanding. Returns how many reserve calls failed.
 */
async function longPoll(ts: Taskscaler, clock: FakeClock, workers: number, pollMs: number, forMs: number): Promise<{ failed: number; maxHeld: number }> {
  const held = new Set<string>();
  let failed = 0;
  let maxHeld = 0;
  const step = 5_000;
  for (let at = 0; at < forMs; at += step) {
    for (let w = 0; w < workers; w++) {
      const key = `w${w}`;
      const phase = (at + w * 7_000) % pollMs;
      if (held.has(key) && phase < step) {
        ts.unreserve(key);
        held.delete(key);
      }
      if (!held.has(key)) {
        try {
          ts.reserve(key);
          held.add(key);
        } catch {
          failed++;
        }
      }
    }
    maxHeld = Math.max(maxHeld, held.size);
    await clock.advance(step);
  }
  for (const k of held) ts.unreserve(k);
  return { failed, maxHeld };
}

t.test('reservation throttling: long-polling reservations do not keep idle instances alive', async (t) => {
  const cases: [string, boolean, number][] = [
    ['throttling on (default): idle instances expire', true, 0],
    ['throttling off: every polling worker holds an instance', false, 8],
  ];
  for (const [name, throttling, left] of cases) {
    const { ts, group, clock } = await start({ config: { maxInstances: 10, reservationThrottling: throttling, policies: [{ idleTimeMs: 5 * 60_000 }] } });
    const jobs = await acquireAll(ts, clock, ['j1', 'j2', 'j3', 'j4']);
    for (const j of jobs) j.release();
    const { maxHeld } = await longPoll(ts, clock, 8, 50_000, 15 * 60_000);
    t.equal(maxHeld, 8, `${name}: non-preemptive reservations succeed within max_instances`);
    t.equal(group.live, left, name);
    await ts.shutdown();
  }
});

t.test('preemptive mode: reservations only take warm idle slots and never grow the fleet', async (t) => {
  const { ts, group, clock } = await start({ config: { policies: [{ idleCount: 2, idleTimeMs: 60_000 }] } });
  await clock.advance(2_000);
  const { failed, maxHeld } = await longPoll(ts, clock, 10, 50_000, 30 * 60_000);
  t.equal(maxHeld, 2, 'two warm slots, two reservations');
  t.ok(failed > 0, 'the other workers were told no_capacity and did not ask GitLab');
  t.equal(group.peak, 2, 'polling never created instances');
  ts.reserve('w0');
  ts.reserve('w1');
  ts.configureSchedule([{ idleCount: 0, idleTimeMs: 60_000 }]);
  await clock.advance(60_000);
  t.equal(group.live, 0, 'reservations do not pin instances: both idle ones expire');
  const [job] = await acquireAll(ts, clock, ['w0']);
  t.equal(group.calls.increase.at(-1), 1, 'a reserved worker that then gets a job is served by a new instance');
  job!.release();
  t.ok(ts.unreserve('w1'));
  await ts.shutdown();
});
