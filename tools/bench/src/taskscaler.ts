// The taskscaler's hot paths at 100 / 1,000 / 10,000 / 100,000 instances of 4 slots: one scaling tick (plugin
// update of every instance, reconcile, plan) and one reserve → acquire → release cycle, with the heap each
// instance costs; the cost of a state save (in memory: snapshot + JSON; to a real file: the longest the event
// loop is held and the time until the file is on disk); and how soon a ready or a deleted instance is noticed.
// Baseline in the same run: a Map set/get/delete of one key (the floor of any keyed slot book-keeping), and the
// 100-instance row for the growth of the other rows. Targets: a tick ≤ 5 ms at 100,000 instances and growing no
// faster than the fleet, and the cycle flat (O(1)) or logarithmic in the number of instances.
//
// The instance group answers at once from memory, so the numbers are the taskscaler's own cost; a real plugin
// adds its RPC time (see plugin-rpc). Time is a FakeClock: no timer fires during a measurement. Rounds per row:
// BENCH_ROUNDS (default 5, median reported); sizes: BENCH_SIZES (comma-separated, default 100,1000,10000,100000).
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { FakeClock } from '@fleetrunner/common';
import { defaultConnectorConfig, type ConnectInfo, type InstanceGroup, type InstanceStatus } from '@fleetrunner/fleeting';
import { FileStateStore, createTaskscaler, type SavedState, type StateStore, type Taskscaler } from '@fleetrunner/taskscaler';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const SIZES = (process.env.BENCH_SIZES ?? '100,1000,10000,100000').split(',').map(Number);
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
  /** The taskscaler's incremental path: instance texts, only the changed ones made again; joined here in full. */
  async saveSerialized(savedAt: number, instances: readonly string[]) {
    this.bytes = `{"version":1,"savedAt":${savedAt},"instances":[${instances.join(',')}]}`.length;
    this.saves++;
  }
}

/** The real file store, telling when each save is on disk. */
class TimedFileStore extends FileStateStore {
  private waiting: (() => void) | undefined;
  override async save(s: SavedState): Promise<void> {
    await super.save(s);
    this.saved();
  }
  override async saveSerialized(savedAt: number, instances: readonly string[]): Promise<void> {
    await super.saveSerialized(savedAt, instances);
    this.saved();
  }
  protected saved(): void {
    this.waiting?.();
    this.waiting = undefined;
  }
  next(): Promise<void> {
    return new Promise((resolve) => (this.waiting = resolve));
  }
}

/**
 * Instances that run `createMs` after `increase` and are gone `deleteMs` after `decrease`, on the fake clock;
 * counts `update` calls.
 */
class DelayedGroup implements InstanceGroup {
  readonly runAt = new Map<string, number>();
  readonly goneAt = new Map<string, number>();
  updates = 0;
  private seq = 0;
  constructor(
    private readonly clock: FakeClock,
    private readonly createMs: number,
    private readonly deleteMs: number,
  ) {}
  async init() {
    return { id: 'bench/delayed/group', maxSize: 0, version: '0', buildInfo: '', capabilities: [] };
  }
  async update(): Promise<InstanceStatus[]> {
    this.updates++;
    const now = this.clock.now();
    const out: InstanceStatus[] = [];
    for (const [id, at] of this.runAt) {
      const gone = this.goneAt.get(id);
      if (gone !== undefined && gone <= now) continue;
      out.push({ id, state: gone !== undefined ? 'deleting' : at <= now ? 'running' : 'creating' });
    }
    return out;
  }
  async increase(n: number) {
    for (let i = 0; i < n; i++) this.runAt.set(`d-${this.seq++}`, this.clock.now() + this.createMs);
    return { succeeded: n };
  }
  async decrease(ids: readonly string[]) {
    for (const id of ids) if (!this.goneAt.has(id)) this.goneAt.set(id, this.clock.now() + this.deleteMs);
    return { succeeded: [...ids] };
  }
  async connectInfo(id: string): Promise<ConnectInfo> {
    return { ...defaultConnectorConfig({ os: 'linux', arch: 'amd64', username: 'runner' }), id, internalAddr: '10.1.2.3', externalAddr: '' };
  }
  async heartbeat() {}
  async shutdown() {}
}

interface Notice {
  readyMs: number;
  deletedMs: number;
  updates: number;
}

/**
 * Fake-clock ms from an instance running (plugin side) to the taskscaler having it ready, and from its deletion
 * to the taskscaler forgetting it, with the given update intervals; and the updates asked for meanwhile.
 */
async function notice(createMs: number, intervals: { updateIntervalMs: number; updateIntervalWhenExpectingMs: number }): Promise<Notice> {
  const clock = new FakeClock();
  const group = new DelayedGroup(clock, createMs, createMs);
  const ts = await createTaskscaler(
    group,
    { ...intervals, stateStorage: { enabled: false }, policies: [{ idleCount: 1, idleTimeMs: YEAR }] },
    { clock },
  );
  await clock.advance(0);
  const [id, runAt] = [...group.runAt][0]!;
  while (ts.stats().instances.ready < 1) await clock.advance(1);
  const readyMs = clock.now() - runAt;
  ts.configureSchedule([{ idleCount: 0, idleTimeMs: 1 }]);
  while (!group.goneAt.has(id)) await clock.advance(1);
  const goneAt = group.goneAt.get(id)!;
  while (ts.instances().length > 0) await clock.advance(1);
  const deletedMs = clock.now() - goneAt;
  const updates = group.updates;
  await ts.shutdown();
  return { readyMs, deletedMs, updates };
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

/**
 * A state save to a real file after a slot change: the longest the event loop was held meanwhile (what a tick or
 * an acquire would wait for) and the time until the file was on disk.
 */
async function fileSave(ts: Taskscaler, clock: FakeClock, store: TimedFileStore): Promise<{ blockMs: number; totalMs: number }> {
  const blocks: number[] = [];
  const totals: number[] = [];
  for (let i = 0; i < 3; i++) {
    ts.reserve('file-save');
    await ts.acquire('file-save');
    ts.release('file-save');
    const saved = store.next();
    let last = process.hrtime.bigint();
    let maxGap = 0n;
    let spinning = true;
    const spin = (): void => {
      const t = process.hrtime.bigint();
      if (t - last > maxGap) maxGap = t - last;
      last = t;
      if (spinning) setImmediate(spin);
    };
    setImmediate(spin);
    const t0 = process.hrtime.bigint();
    await clock.advance(1_000);
    await saved;
    totals.push(Number(process.hrtime.bigint() - t0) / 1e6);
    spinning = false;
    blocks.push(Number(maxGap) / 1e6);
  }
  return { blockMs: median(blocks), totalMs: median(totals) };
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
  fileBlockMs: number;
  fileTotalMs: number;
  bytes: number;
  snapshotKiB: number;
}

async function measure(n: number): Promise<Row> {
  const tickRuns: number[] = [];
  const cycleRuns: number[] = [];
  const storedRuns: number[] = [];
  const saveRuns: number[] = [];
  const fileBlockRuns: number[] = [];
  const fileTotalRuns: number[] = [];
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
    const dir = await mkdtemp(join(tmpdir(), 'bench-taskscaler-'));
    try {
      const fileStore = new TimedFileStore(dir);
      const onFile = await fleet(n, fileStore);
      const f = await fileSave(onFile.ts, onFile.clock, fileStore);
      fileBlockRuns.push(f.blockMs);
      fileTotalRuns.push(f.totalMs);
      await onFile.ts.shutdown();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return {
    n,
    tickUs: median(tickRuns),
    cycleUs: median(cycleRuns),
    cycleStoredUs: median(storedRuns),
    saveMs: median(saveRuns),
    fileBlockMs: median(fileBlockRuns),
    fileTotalMs: median(fileTotalRuns),
    bytes: median(byteRuns),
    snapshotKiB,
  };
}

const baseUs = median(Array.from({ length: ROUNDS }, () => mapBaseline(1_000_000)));
const rows: Row[] = [];
for (const n of SIZES) rows.push(await measure(n));

console.log(`taskscaler, capacity ${CAPACITY} per instance, median of ${ROUNDS} rounds (node ${process.version}, load ${loadavg()[0]!.toFixed(2)})\n`);
console.log(
  '| instances | tick µs | tick µs / instance | reserve→acquire→release µs/op | × 100-instance row | same, state storage on | state save ms (in memory, ≤ 1/s) | file save: event loop held ms | file save: on disk ms | state KiB | heap bytes/instance |',
);
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  const growth = r.cycleUs / rows[0]!.cycleUs;
  console.log(
    `| ${r.n.toLocaleString('en')} | ${r.tickUs.toFixed(0)} | ${(r.tickUs / r.n).toFixed(3)} | ${r.cycleUs.toFixed(2)} | ${growth.toFixed(2)} | ${r.cycleStoredUs.toFixed(2)} | ${r.saveMs.toFixed(2)} | ${r.fileBlockMs.toFixed(2)} | ${r.fileTotalMs.toFixed(1)} | ${r.snapshotKiB.toFixed(0)} | ${r.bytes.toFixed(0)} |`,
  );
}
console.log(`| baseline: Map set+get+delete of one key | | | ${baseUs.toFixed(3)} | | | | | | | |`);
const big = rows.at(-1)!;
const tickOk = big.tickUs <= 5_000;
const flat = big.cycleUs / rows[0]!.cycleUs <= 2;
const perInstance = rows.map((r) => r.tickUs / r.n);
const linear = rows.length < 2 || perInstance.at(-1)! <= 1.5 * Math.min(...perInstance.filter((_, i) => rows[i]!.n >= 10_000));
console.log(`\ntarget: tick ≤ 5 ms at ${big.n.toLocaleString('en')} instances — ${tickOk ? 'met' : 'MISSED'} (${(big.tickUs / 1000).toFixed(2)} ms)`);
console.log(`target: tick growing no faster than the fleet (µs per instance from 10,000 up within 1.5 ×) — ${linear ? 'met' : 'MISSED'} (${perInstance.map((x) => x.toFixed(3)).join(' / ')})`);
console.log(`target: acquisition O(1)/O(log n) — ${flat ? 'met' : 'MISSED'} (${big.n.toLocaleString('en')} vs ${rows[0]!.n} instances: × ${(big.cycleUs / rows[0]!.cycleUs).toFixed(2)})`);

// Noticing changes: the embedded exec config's intervals (250 ms while expecting) and upstream's (2 s / 1 m).
const DELAYS = [30, 110, 270, 480, 1_130, 2_610];
for (const [name, intervals] of [
  ['runner exec (1m / 250ms)', { updateIntervalMs: 60_000, updateIntervalWhenExpectingMs: 250 }],
  ['upstream (1m / 2s)', { updateIntervalMs: 60_000, updateIntervalWhenExpectingMs: 2_000 }],
] as const) {
  console.log(`\nnoticing an instance, intervals ${name}: fake-clock ms from the plugin's change to the taskscaler's view`);
  console.log('| creation / deletion takes ms | running → ready ms | deleted → forgotten ms | updates asked for |');
  console.log('|---:|---:|---:|---:|');
  const all: Notice[] = [];
  for (const d of DELAYS) {
    const r = await notice(d, intervals);
    all.push(r);
    console.log(`| ${d} | ${r.readyMs} | ${r.deletedMs} | ${r.updates} |`);
  }
  const mean = (xs: number[]): string => (xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(0);
  console.log(`| mean | ${mean(all.map((r) => r.readyMs))} | ${mean(all.map((r) => r.deletedMs))} | ${mean(all.map((r) => r.updates))} |`);
}
