// What the cloud plugin benchmarks share: a plugin process and an in-process group against a stand-in, the time
// from Increase to a running instance, and p50/p95 of update, heartbeat and connectInfo round trips.
import { loadavg } from 'node:os';
import { runPlugin, type InitSettings, type InstanceGroup } from '@fleetrunner/fleeting';

/** The `p`-th percentile of ascending `sorted`. */
export function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;
}

/** `n` sequential calls; their durations in ms, ascending. */
export async function time(n: number, call: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await call();
    out.push(performance.now() - t0);
  }
  return out.sort((a, b) => a - b);
}

/** One cloud plugin benchmark. */
export interface CloudPluginBench {
  /** The plugin binary and its name (`googlecloud`). */
  bin: string;
  name: string;
  /** The plugin process's environment (the stand-in's). */
  env: NodeJS.ProcessEnv;
  /** The same plugin in this process. */
  inproc: InstanceGroup;
  init: InitSettings;
  instances: number;
  calls: number;
  /** What connectInfo does once warm, for its rows: `key pushed`. */
  connectInfo: string;
  /** The header line; the load average is added. */
  title: string;
  /** Stops the stand-in. */
  stop(): Promise<void>;
}

/** Runs a {@link CloudPluginBench} and prints its table. */
export async function benchCloudPlugin(b: CloudPluginBench): Promise<void> {
  const plugin = await runPlugin(b.bin, { name: b.name, env: b.env });
  try {
    await plugin.group.init(b.init);
    await b.inproc.init(b.init);
    const g: InstanceGroup = plugin.group;
    const ready: number[] = [];
    for (let i = 0; i < b.instances; i++) {
      const before = new Set((await g.update()).map((x) => x.id));
      const t0 = performance.now();
      const r = await g.increase(1);
      if (r.succeeded !== 1) throw new Error(`increase failed: ${r.error?.message}`);
      for (;;) {
        const list = await g.update();
        if (list.some((x) => !before.has(x.id) && x.state === 'running')) break;
        await new Promise((res) => setTimeout(res, 10));
      }
      ready.push(performance.now() - t0);
    }
    ready.sort((a, c) => a - c);
    const id = (await g.update()).find((x) => x.state === 'running')!.id;
    await b.inproc.update();
    await g.connectInfo(id);
    await b.inproc.connectInfo(id);
    const rows: [string, number[]][] = [
      ['update (process)', await time(b.calls, () => g.update())],
      ['update (in process)', await time(b.calls, () => b.inproc.update())],
      ['heartbeat (process)', await time(b.calls, () => g.heartbeat(id))],
      ['heartbeat (in process)', await time(b.calls, () => b.inproc.heartbeat(id))],
      [`connectInfo, ${b.connectInfo} (process)`, await time(b.calls, () => g.connectInfo(id))],
      [`connectInfo, ${b.connectInfo} (in process)`, await time(b.calls, () => b.inproc.connectInfo(id))],
    ];
    const width = Math.max(...rows.map(([name]) => name.length)) + 2;
    console.log(`${b.title} (${b.instances} instances, ${b.calls} calls each, load ${loadavg()[0]!.toFixed(1)})`);
    console.log(`Increase → running: p50 ${pct(ready, 50).toFixed(0)} ms, max ${ready[ready.length - 1]!.toFixed(0)} ms (${ready.map((x) => x.toFixed(0)).join(', ')})`);
    console.log(`${'call'.padEnd(width)} p50 ms   p95 ms`);
    for (const [name, v] of rows) console.log(`${name.padEnd(width)} ${pct(v, 50).toFixed(3).padStart(7)}  ${pct(v, 95).toFixed(3).padStart(7)}`);
    const ids = (await g.update()).filter((x) => x.state !== 'deleted').map((x) => x.id);
    await g.decrease(ids);
  } finally {
    await b.inproc.shutdown();
    await plugin.stop();
    await b.stop();
  }
}
