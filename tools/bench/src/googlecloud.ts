// plugins/googlecloud against the GCE stand-in: time from Increase to a running instance (resize, the stand-in's
// operation and boot, the plugin's listManagedInstances), and the plugin's RPC round trips through its real process
// (update with N instances, heartbeat, connect info once the key is pushed) beside the same calls in process.
// Needs root (instances serve SSH on port 22). Loopback subnets 127.86.60-62 (+64, +128).
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createLogger, textSink } from '@fleetrunner/common';
import { defaultConnectorConfig, runPlugin, type InstanceGroup } from '@fleetrunner/fleeting';
import { startGceStandin } from '@fleetrunner/gce-standin';
import { GceInstanceGroup } from '@fleetrunner/plugin-googlecloud';

const BIN = fileURLToPath(new URL('../../../../plugins/googlecloud/bin/plugin.js', import.meta.url));
const INSTANCES = 4;
const CALLS = Number(process.env.BENCH_CALLS ?? 300);

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;
}

async function time(n: number, call: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await call();
    out.push(performance.now() - t0);
  }
  return out.sort((a, b) => a - b);
}

const s = await startGceStandin({
  subnet: '127.86.60.0/24',
  publicSubnet: '127.86.124.0/24',
  machineSubnet: '127.86.188.0/24',
  sshPort: 22,
  groups: [{ name: 'runners', quota: INSTANCES + 1 }],
  logger: createLogger({ level: 'warn', sink: textSink(process.stderr) }),
});
const plugin = await runPlugin(BIN, { name: 'googlecloud', env: s.env });
const inproc = new GceInstanceGroup({ env: { ...process.env, ...s.env } });
const init = { pluginConfig: { name: 'runners', project: 'fleetrunner-test', zone: 'us-central1-a', credentials_file: s.credentialsFile }, connector: defaultConnectorConfig() };
try {
  await plugin.group.init(init);
  await inproc.init(init);
  const g: InstanceGroup = plugin.group;
  const ready: number[] = [];
  for (let i = 0; i < INSTANCES; i++) {
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
  ready.sort((a, b) => a - b);
  const id = (await g.update()).find((x) => x.state === 'running')!.id;
  await inproc.update();
  await g.connectInfo(id);
  await inproc.connectInfo(id);
  const rows: [string, number[]][] = [
    ['update (process)', await time(CALLS, () => g.update())],
    ['update (in process)', await time(CALLS, () => inproc.update())],
    ['heartbeat (process)', await time(CALLS, () => g.heartbeat(id))],
    ['heartbeat (in process)', await time(CALLS, () => inproc.heartbeat(id))],
    ['connectInfo, key pushed (process)', await time(CALLS, () => g.connectInfo(id))],
    ['connectInfo, key pushed (in process)', await time(CALLS, () => inproc.connectInfo(id))],
  ];
  console.log(`googlecloud plugin against the GCE stand-in (${INSTANCES} instances, ${CALLS} calls each, load ${loadavg()[0]!.toFixed(1)})`);
  console.log(`Increase → running: p50 ${pct(ready, 50).toFixed(0)} ms, max ${ready[ready.length - 1]!.toFixed(0)} ms (${ready.map((x) => x.toFixed(0)).join(', ')})`);
  console.log('call                                   p50 ms   p95 ms');
  for (const [name, v] of rows) console.log(`${name.padEnd(38)} ${pct(v, 50).toFixed(3).padStart(7)}  ${pct(v, 95).toFixed(3).padStart(7)}`);
  const ids = (await g.update()).filter((x) => x.state !== 'deleted').map((x) => x.id);
  await g.decrease(ids);
} finally {
  await inproc.shutdown();
  await plugin.stop();
  await s.stop();
}
