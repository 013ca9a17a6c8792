// The taskscaler's hot paths at 100 / 1,000 / 10,000 instances of 4 slots: one scaling tick (plugin update of
// every instance, reconcile, plan) and one reserve → acquire → release cycle, with the heap each instance costs.
// Baseline in the same run: a Map set/get/delete of one key (the floor of any keyed slot book-keeping), and the
// 100-instance row for the growth of the other rows. Targets: a tick ≤ 5 ms at 10,000 instances, and the cycle
// flat (O(1)) or logarithmic in the number of instances.
//
// The instance group answers at once from memory, so the numbers are the taskscaler's own cost; a real plugin
// adds its RPC time (see plugin-rpc). Time is a FakeClock: no timer fires during a measurement. Rounds per row:
// BENCH_ROUNDS (default 5, median reported).
import { loadavg } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { FakeClock } from '@fleetrunner/common';
import { defaultConnectorConfig, type ConnectInfo, type InstanceGroup, type InstanceStatus } from '@fleetrunner/fleeting';
import { createTaskscaler, type SavedState, type StateStore, type Taskscaler } from '@fleetrunner/taskscaler';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const SIZES = [100, 1_000, 10_000];
const CAPACITY = 4;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const YEAR = 365 * 24 * 3_600_000;

/** Instances that run as soon as they are asked for; `update` answers one preallocated list. */
class InstantGroup implements InstanceGroup {
  private readonly statuses: InstanceStatus[] = [];
  async init() {
    return { id: 'bench/memory/group', maxSize: 0, version: '0', buildInfo: '', capabilities: [] };
  }
  async update(): Promise<InstanceStatus[]> {
    return this.statuses;
  }
  async increase(n: number) {
    for (let i = 0; i < n; i++) this.statuses.push({ id: `instance-${String(this.statuses.length).padStart(6, '0')}`, state: 'running' });
    return { succeeded: n };
  }
  async decrease(ids: readonly string[]) {
    return { succeeded: [...ids] };
  }
  async connectInfo(id: string): Promise<ConnectInfo> {
    return { ...defaultConnectorConfig({ os: 'linux', arch: 'amd64', username: 'runner' }), id, internalAddr: '10.1.2.3', externalAddr: '' };
  }
  async heartbeat() {}
  async shutdown() {}
}

/** Serializes like a file store would, in memory (the cost of one state snapshot). */
class JsonStore implements StateStore {
  readonly location = 'memory';
  bytes = 0;
  saves = 0;
  async load() {
    return undefined;
  }
  async save(s: SavedState) {
    this.bytes = JSON.stringify(s).length;
    this.saves++;
  }
}

function heap(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** Heap of the group's own status list for `n` instances, subtracted from the taskscaler's share. */
async function groupBytes(n: number): Promise<number> {
  const before = heap();
  const g = new InstantGroup();
  await g.increase(n);
  const after = heap();
  void g.update();
  return after - before;
}

async function fleet(n: number, store?: StateStore): Promise<{ ts: Taskscaler; clock: FakeClock; bytes: number }> {
  const own = await groupBytes(n);
  const clock = new FakeClock();
  const group = new InstantGroup();
  const before = heap();
  const ts = await createTaskscaler(
    group,
    {
      capacityPerInstance: CAPACITY,
      scaleThrottle: { limit: -1 },
      stateStorage: { enabled: store !== undefined },
      policies: [{ idleCount: n * CAPACITY, idleTimeMs: YEAR }],
    },
    { clock, stateStore: store },
  );
  while (ts.stats().instances.ready < n) await clock.advance(2_000);
  // Keep the fleet (idle for a year before expiry) but stop wanting more, so the cycle measures slot work only.
  ts.configureSchedule([{ idleCount: 0, idleTimeMs: YEAR, preemptiveMode: true }]);
  await clock.advance(0);
  const bytes = (heap() - before - own) / n;
  return { ts, clock, bytes };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** µs per tick: a full update-and-scale cycle. */
async function ticks(ts: Taskscaler, n: number): Promise<number> {
  const k = Math.max(20, Math.round(200_000 / n));
  for (let i = 0; i < 5; i++) await ts.tick();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < k; i++) await ts.tick();
  return Number(process.hrtime.bigint() - t0) / 1e3 / k;
}

/**
 * µs per reserve → acquire → release of one job. The job reads `signal` as an executor does (the AbortController
 * behind it is made on first read and is most of the cost).
 */
async function cycles(ts: Taskscaler, ops: number): Promise<number> {
  let aborted = 0;
  const once = async (key: string): Promise<void> => {
    ts.reserve(key);
    const acq = await ts.acquire(key);
    if (acq.signal.aborted) aborted++;
    ts.release(key);
  };
  for (let i = 0; i < 1_000; i++) await once(`w${i & 7}`);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) await once(`k${i & 15}`);
  const us = Number(process.hrtime.bigint() - t0) / 1e3 / ops;
  if (aborted > 0) throw new Error('an acquisition was lost');
  return us;
}

/** ms of one state save (snapshot + JSON) after a slot change: the persister's timer firing on the clock. */
async function saveMs(ts: Taskscaler, clock: FakeClock, store: JsonStore): Promise<number> {
  const runs: number[] = [];
  for (let i = 0; i < 5; i++) {
    ts.reserve('save');
    await ts.acquire('save');
    ts.release('save');
    const before = store.saves;
    const t0 = process.hrtime.bigint();
    await clock.advance(1_000);
    runs.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (store.saves !== before + 1) throw new Error(`expected one save, got ${store.saves - before}`);
  }
  return median(runs);
}

function mapBaseline(ops: number): number {
  const m = new Map<string, object>();
  const v = {};
  let hits = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) {
    const key = `k${i & 15}`;
    m.set(key, v);
    if (m.get(key) === v) hits++;
    m.delete(key);
  }
  const us = Number(process.hrtime.bigint() - t0) / 1e3 / ops;
  if (hits !== ops) throw new Error('baseline broken');
  return us;
}

interface Row {
  n: number;
  tickUs: number;
  cycleUs: number;
  cycleStoredUs: number;
  saveMs: number;
  bytes: number;
  snapshotKiB: number;
}

async function measure(n: number): Promise<Row> {
  const tickRuns: number[] = [];
  const cycleRuns: number[] = [];
  const storedRuns: number[] = [];
  const saveRuns: number[] = [];
  const byteRuns: number[] = [];
  let snapshotKiB = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const plain = await fleet(n);
    byteRuns.push(plain.bytes);
    // Half the fleet busy: acquisitions spread over the slot index as in real use.
    for (let i = 0; i < (n * CAPACITY) / 2; i++) await plain.ts.acquire(`busy-${i}`);
    tickRuns.push(await ticks(plain.ts, n));
    cycleRuns.push(await cycles(plain.ts, 20_000));
    await plain.ts.shutdown();
    const store = new JsonStore();
    const stored = await fleet(n, store);
    storedRuns.push(await cycles(stored.ts, 20_000));
    saveRuns.push(await saveMs(stored.ts, stored.clock, store));
    snapshotKiB = store.bytes / 1024;
    await stored.ts.shutdown();
  }
  return { n, tickUs: median(tickRuns), cycleUs: median(cycleRuns), cycleStoredUs: median(storedRuns), saveMs: median(saveRuns), bytes: median(byteRuns), snapshotKiB };
}

const baseUs = median(Array.from({ length: ROUNDS }, () => mapBaseline(1_000_000)));
const rows: Row[] = [];
for (const n of SIZES) rows.push(await measure(n));

console.log(`taskscaler, capacity ${CAPACITY} per instance, median of ${ROUNDS} rounds (node ${process.version}, load ${loadavg()[0]!.toFixed(2)})\n`);
console.log('| instances | tick µs | reserve→acquire→release µs/op | × 100-instance row | same, state storage on | state save ms (≤ 1/s) | state KiB | heap bytes/instance |');
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  const growth = r.cycleUs / rows[0]!.cycleUs;
  console.log(
    `| ${r.n.toLocaleString('en')} | ${r.tickUs.toFixed(0)} | ${r.cycleUs.toFixed(2)} | ${growth.toFixed(2)} | ${r.cycleStoredUs.toFixed(2)} | ${r.saveMs.toFixed(2)} | ${r.snapshotKiB.toFixed(0)} | ${r.bytes.toFixed(0)} |`,
  );
}
console.log(`| baseline: Map set+get+delete of one key | | ${baseUs.toFixed(3)} | | | | | |`);
const big = rows.at(-1)!;
const tickOk = big.tickUs <= 5_000;
const flat = big.cycleUs / rows[0]!.cycleUs <= 2;
console.log(`\ntarget: tick ≤ 5 ms at 10,000 instances — ${tickOk ? 'met' : 'MISSED'} (${(big.tickUs / 1000).toFixed(2)} ms)`);
console.log(`target: acquisition O(1)/O(log n) — ${flat ? 'met' : 'MISSED'} (10,000 vs 100 instances: × ${(big.cycleUs / rows[0]!.cycleUs).toFixed(2)})`);
