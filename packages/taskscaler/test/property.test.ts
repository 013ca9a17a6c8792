import t, { type Test } from 'tap';
import { FakeClock, RunnerError } from '@fleetrunner/common';
import type { Acquisition, Taskscaler, TaskscalerConfig } from '../src/index.js';
import { audit } from '../src/audit.js';
import type { Scaler } from '../src/scaler.js';
import { MemoryInstanceGroup } from './support/memory-group.js';
import { MemoryStateStore, T0, start, whileAdvancing } from './support/harness.js';
import { Prng } from './support/prng.js';

// Property-style tests over random job-arrival traces. Each seed picks a configuration and a fault mix, drives
// the taskscaler through an hour of jobs on the fake clock, and checks the invariants at every step, among them
// that every count, index and the state image kept incrementally equal a recount from scratch (audit). Odd seeds
// save through instance texts (the incremental path), even ones whole snapshots. A failure names its seed;
// re-run it alone with TASKSCALER_SEED=<seed>.

interface Scenario {
  seed: number;
  config: TaskscalerConfig;
  limit: number;
  creationDelayMs: number;
  deletionDelayMs: number;
  faults: boolean;
}

function scenario(seed: number): Scenario {
  const r = new Prng(seed);
  const capacityPerInstance = r.int(1, 4);
  const maxInstances = r.pick([0, 2, 4, 8]);
  const idleCount = r.int(0, 5);
  const config: TaskscalerConfig = {
    capacityPerInstance,
    maxInstances,
    maxUseCount: r.pick([0, 0, 1, 3]),
    reservationThrottling: r.chance(0.8),
    instanceAcquireTimeoutMs: r.pick([60_000, 15 * 60_000]),
    deleteInstancesOnShutdown: r.chance(0.3),
    scaleThrottle: r.chance(0.3) ? { limit: 1, burst: 2 } : {},
    policies: [
      {
        idleCount,
        idleTimeMs: r.pick([0, 60_000, 10 * 60_000]),
        scaleFactor: r.pick([0, 0, 0.5, 1]),
        scaleFactorLimit: r.pick([0, 2]),
        preemptiveMode: r.pick([undefined, true, false]),
      },
    ],
  };
  return { seed, config, limit: maxInstances || Infinity, creationDelayMs: r.int(0, 90) * 1000, deletionDelayMs: r.int(0, 30) * 1000, faults: r.chance(0.6) };
}

interface Job {
  key: string;
  acq?: Acquisition;
  endAt: number;
  done: boolean;
}

async function run(t: Test, s: Scenario): Promise<void> {
  const r = new Prng(s.seed * 7919);
  const clock = new FakeClock(T0);
  const group = new MemoryInstanceGroup({ clock, creationDelayMs: s.creationDelayMs, deletionDelayMs: s.deletionDelayMs });
  const store = new MemoryStateStore({ serialized: s.seed % 2 === 1 });
  const held = new Map<string, number>();
  const violations: string[] = [];
  group.onDelete = (ids) => {
    for (const id of ids) if ((held.get(id) ?? 0) > 0) violations.push(`deleted ${id} while it held an acquisition`);
  };
  // Some seeds probe health: heartbeats that fail now and then (suspect, then unhealthy instances).
  const probe = new Prng(s.seed * 104729);
  let probeFaults = s.faults && s.seed % 3 === 0;
  const hooks = s.seed % 3 === 0 ? { heartbeat: () => (probeFaults && probe.chance(0.1) ? Promise.reject(new Error('probe failed')) : Promise.resolve()) } : {};
  const { ts } = await start({ clock, group, store, config: s.config, hooks });
  const jobs: Job[] = [];
  let seq = 0;
  const hold = (id: string, d: number): void => void held.set(id, (held.get(id) ?? 0) + d);
  const check = (when: string): void => {
    if (group.peak > s.limit) violations.push(`${when}: ${group.peak} instances, max ${s.limit}`);
    const st = ts.stats();
    const total = Object.values(st.instances).reduce((a, b) => a + b, 0);
    if (total > s.limit) violations.push(`${when}: taskscaler counts ${total} instances, max ${s.limit}`);
    const mine = [...held.values()].reduce((a, b) => a + b, 0);
    if (st.slots.acquired !== mine) violations.push(`${when}: ${st.slots.acquired} acquired, jobs hold ${mine}`);
    for (const v of audit(ts as Scaler)) violations.push(`${when}: ${v}`);
  };

  // An hour of traffic with faults.
  for (let step = 0; clock.now() < T0 + 3_600_000; step++) {
    for (const j of jobs) {
      if (!j.done && j.acq && j.endAt <= clock.now()) {
        j.done = true;
        hold(j.acq.instanceId, -1);
        j.acq.release();
      }
    }
    const arrivals = r.chance(0.3) ? r.int(1, 3) : 0;
    for (let k = 0; k < arrivals; k++) {
      const key = `job-${seq++}`;
      try {
        ts.reserve(key);
      } catch (err) {
        if (!(err instanceof RunnerError) || err.code !== 'no_capacity') throw err;
        continue;
      }
      if (r.chance(0.3)) {
        ts.unreserve(key); // a long poll with no job
        continue;
      }
      const job: Job = { key, endAt: 0, done: false };
      jobs.push(job);
      const duration = r.int(10, 900) * 1000;
      ts.acquire(key).then(
        (acq) => {
          job.acq = acq;
          job.endAt = clock.now() + duration;
          hold(acq.instanceId, 1);
          acq.signal.addEventListener('abort', () => {
            if (job.done) return;
            job.done = true;
            hold(acq.instanceId, -1);
          });
        },
        () => (job.done = true),
      );
    }
    if (s.faults) {
      group.increaseFault = r.chance(0.05) ? () => new RunnerError('unavailable', 'cloud hiccup') : undefined;
      if (r.chance(0.02)) group.failUpdates = 1;
      if (r.chance(0.01) && group.instances.size > 0) group.vanish(r.pick([...group.instances.keys()]));
      if (r.chance(0.03) && group.instances.size > 0) group.refuseDelete.add(r.pick([...group.instances.keys()]));
      if (r.chance(0.05)) group.refuseDelete.clear();
    }
    await clock.advance(r.int(1, 20) * 1000);
    check(`seed ${s.seed} step ${step}`);
  }

  // Quiet: faults off, jobs end, policy idle_time passes.
  group.increaseFault = undefined;
  group.refuseDelete.clear();
  probeFaults = false;
  for (let i = 0; i < 60 && jobs.some((j) => !j.done); i++) {
    for (const j of jobs) {
      if (!j.done && j.acq && j.endAt <= clock.now()) {
        j.done = true;
        hold(j.acq.instanceId, -1);
        j.acq.release();
      }
    }
    await clock.advance(30_000);
  }
  await clock.advance(15 * 60_000);
  check(`seed ${s.seed} quiet`);
  t.same(violations, [], `seed ${s.seed}: invariants held`);
  checkConverged(t, ts, s, 'after the trace');

  const liveBefore = [...group.instances.keys()].sort();
  await whileAdvancing(clock, ts.shutdown());
  const liveAfter = [...group.instances.keys()].sort();
  if (s.config.deleteInstancesOnShutdown) {
    await clock.advance(s.deletionDelayMs);
    t.equal(group.live, 0, `seed ${s.seed}: everything deleted at shutdown`);
    t.same(store.ids(), [], `seed ${s.seed}: nothing left in the state file`);
    return;
  }
  t.same(liveAfter, liveBefore, `seed ${s.seed}: shutdown leaves the fleet alone`);
  t.same(store.ids(), liveAfter, `seed ${s.seed}: every live instance is saved`);

  const increases = group.calls.increase.length;
  const again = await start({ clock, group, store, config: s.config });
  t.equal(group.calls.increase.length, increases, `seed ${s.seed}: the restart asked for no instance`);
  t.ok(again.ts.instances().every((i) => i.cause === 'restored'), `seed ${s.seed}: all re-adopted`);
  await clock.advance(5 * 60_000);
  t.equal(group.calls.increase.length, increases, `seed ${s.seed}: and none later`);
  t.same([...group.instances.keys()].sort(), liveBefore, `seed ${s.seed}: the same fleet`);
  checkConverged(t, again.ts, s, 'after the restart');
  await again.ts.shutdown();
}

/** Idle capacity sits at the policy's target: enough idle slots (or the limit), and no whole instance spare. */
function checkConverged(t: Test, ts: Taskscaler, s: Scenario, when: string): void {
  const st = ts.stats();
  const target = st.policy.idleCount;
  const ready = ts.instances().filter((i) => i.state === 'ready');
  const maxUse = s.config.maxUseCount ?? 0;
  const usable = (i: (typeof ready)[number]): number => Math.min(s.config.capacityPerInstance!, maxUse > 0 ? maxUse - i.useCount : Infinity);
  const idle = ready.reduce((a, i) => a + usable(i), 0);
  const other = st.instances.requested + st.instances.creating + st.instances.readying + st.instances.draining + st.instances.unhealthy;
  t.equal(st.slots.acquired + st.slots.pending + other, 0, `seed ${s.seed} ${when}: quiet`);
  const atLimit = ready.length + st.instances.removing + st.instances.deleting >= s.limit;
  if (!atLimit) t.ok(idle >= target, `seed ${s.seed} ${when}: ${idle} idle slots ≥ target ${target}`);
  const spare = ready.some((i) => idle - usable(i) >= target);
  t.notOk(spare, `seed ${s.seed} ${when}: no spare instance (${ready.length} ready, ${idle} idle slots, target ${target})`);
}

const only = process.env.TASKSCALER_SEED;
const seeds = only ? [Number(only)] : Array.from({ length: 24 }, (_, i) => i + 1);
for (const seed of seeds) {
  const s = scenario(seed);
  t.test(`random trace, seed ${seed}: C=${s.config.capacityPerInstance} max=${s.config.maxInstances} use=${s.config.maxUseCount} faults=${s.faults}`, (t) => run(t, s));
}
