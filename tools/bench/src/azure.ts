// plugins/azure against the Azure stand-in: time from Increase to a running instance (the capacity PATCH and its
// asynchronous operation polled by the SDK, the machine's boot, the VMs list with instance view), and the plugin's
// RPC round trips through its real process (update with N instances, heartbeat, connect info once the addresses are
// read) beside the same calls in process. Needs root (VMs serve SSH on port 22). Loopback subnets 127.89.60 (+64, +128).
import { loadavg } from 'node:os';
import { rootCertificates } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { createLogger, textSink } from '@fleetrunner/common';
import { defaultConnectorConfig, runPlugin, type InstanceGroup } from '@fleetrunner/fleeting';
import { startAzureStandin } from '@fleetrunner/azure-standin';
import { AzureInstanceGroup } from '@fleetrunner/plugin-azure';

const BIN = fileURLToPath(new URL('../../../../plugins/azure/bin/plugin.js', import.meta.url));
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

const s = await startAzureStandin({
  subnet: '127.89.60.0/24',
  publicSubnet: '127.89.124.0/24',
  machineSubnet: '127.89.188.0/24',
  sshPort: 22,
  scaleSets: [{ name: 'runners', quota: INSTANCES + 1, adminUsername: 'runner', adminPassword: 'bench-Passw0rd' }],
  logger: createLogger({ level: 'warn', sink: textSink(process.stderr) }),
});
Object.assign(process.env, s.env);
const plugin = await runPlugin(BIN, { name: 'azure', env: s.env });
const inproc = new AzureInstanceGroup({ ca: [...rootCertificates, s.caPem] });
const init = {
  pluginConfig: { name: 'runners', subscription_id: s.subscriptionId, resource_group_name: s.resourceGroup },
  connector: defaultConnectorConfig({ username: 'runner', password: 'bench-Passw0rd', useStaticCredentials: true }),
};
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
    ['connectInfo, addresses read (process)', await time(CALLS, () => g.connectInfo(id))],
    ['connectInfo, addresses read (in process)', await time(CALLS, () => inproc.connectInfo(id))],
  ];
  console.log(`azure plugin against the Azure stand-in (${INSTANCES} instances, ${CALLS} calls each, load ${loadavg()[0]!.toFixed(1)})`);
  console.log(`Increase → running: p50 ${pct(ready, 50).toFixed(0)} ms, max ${ready[ready.length - 1]!.toFixed(0)} ms (${ready.map((x) => x.toFixed(0)).join(', ')})`);
  console.log('call                                       p50 ms   p95 ms');
  for (const [name, v] of rows) console.log(`${name.padEnd(42)} ${pct(v, 50).toFixed(3).padStart(7)}  ${pct(v, 95).toFixed(3).padStart(7)}`);
  const ids = (await g.update()).filter((x) => x.state !== 'deleted').map((x) => x.id);
  await g.decrease(ids);
} finally {
  await inproc.shutdown();
  await plugin.stop();
  await s.stop();
}
