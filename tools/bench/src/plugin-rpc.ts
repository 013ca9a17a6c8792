// ConnectInfo round trip through the real go-plugin transport (a plugin child process over its unix socket)
// beside the same call in process, measured in the same run. Target: transport p50 ≤ 0.5 ms.
//
// This file is both the benchmark and its plugin: started by a host (the magic cookie is set) it serves a
// fixed instance group; started by hand it runs the benchmark, spawning itself as the plugin.
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { RunnerError } from '@fleetrunner/common';
import { defaultConnectorConfig, runPlugin, serveInstanceGroup, type ConnectInfo, type InstanceGroup } from '@fleetrunner/fleeting';
import { DEFAULT_MAGIC_COOKIE, callUnary } from '@fleetrunner/plugin';
import { fleetingV1 } from '@fleetrunner/proto';

const WARMUP = 1000;
const CALLS = Number(process.env.BENCH_CALLS ?? 10_000);

const info: ConnectInfo = { ...defaultConnectorConfig({ os: 'linux', arch: 'amd64', username: 'runner' }), id: 'i-1', internalAddr: '10.0.0.1', externalAddr: '203.0.113.1' };

const fixedGroup: InstanceGroup = {
  init: async () => ({ id: 'bench/local/group', maxSize: 10, version: '0', buildInfo: '', capabilities: [] }),
  update: async () => [{ id: 'i-1', state: 'running' }],
  increase: async () => ({ succeeded: 0 }),
  decrease: async () => ({ succeeded: [] }),
  connectInfo: async (id) => {
    if (id !== 'i-1') throw new RunnerError('instance_not_found', `instance ${id} not found`);
    return info;
  },
  heartbeat: async () => {},
  shutdown: async () => {},
};

interface Result {
  sorted: number[];
  /** CPU time per call in µs, host process and plugin process (0 in process). */
  hostCpuUs: number;
  pluginCpuUs: number;
}

/** utime + stime of a process in µs (from /proc, clock ticks of 10 ms: fine over thousands of calls). */
function processCpuUs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

async function measure(call: () => Promise<unknown>, pluginPid?: number): Promise<Result> {
  for (let i = 0; i < WARMUP; i++) await call();
  const samples: number[] = [];
  const cpu0 = process.cpuUsage();
  const plugin0 = processCpuUs(pluginPid);
  for (let i = 0; i < CALLS; i++) {
    const t0 = process.hrtime.bigint();
    await call();
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const cpu = process.cpuUsage(cpu0);
  return {
    sorted: samples.sort((a, b) => a - b),
    hostCpuUs: (cpu.user + cpu.system) / CALLS,
    pluginCpuUs: (processCpuUs(pluginPid) - plugin0) / CALLS,
  };
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function main(): Promise<void> {
  const inProc = await runPlugin(() => fixedGroup);
  const outProc = await runPlugin(fileURLToPath(import.meta.url), { name: 'bench-plugin' });
  try {
    await outProc.group.init({ pluginConfig: {}, connector: defaultConnectorConfig() });
    const client = outProc.process!.client;
    const pid = outProc.pid;
    const rows: [string, Result][] = [
      ['in-process InstanceGroup (baseline)', await measure(() => inProc.group.connectInfo('i-1'))],
      ['plugin process: GrpcInstanceGroup', await measure(() => outProc.group.connectInfo('i-1'), pid)],
      ['plugin process: bare callUnary', await measure(() => callUnary(client, fleetingV1.InstanceGroupService.connectInfo, { id: 'i-1' }), pid)],
    ];
    console.log(`ConnectInfo round trip, ${CALLS} sequential calls each after ${WARMUP} warm-up calls (node ${process.version}, load ${loadavg()[0]!.toFixed(2)})\n`);
    console.log('| path | p50 ms | p99 ms | max ms | calls/s | host CPU µs/call | plugin CPU µs/call |');
    console.log('|---|---:|---:|---:|---:|---:|---:|');
    for (const [name, r] of rows) {
      const s = r.sorted;
      const total = s.reduce((a, b) => a + b, 0);
      const cells = [pct(s, 50).toFixed(3), pct(s, 99).toFixed(3), (s[s.length - 1] ?? NaN).toFixed(3), Math.round((s.length / total) * 1000), r.hostCpuUs.toFixed(0), r.pluginCpuUs.toFixed(0)];
      console.log(`| ${name} | ${cells.join(' | ')} |`);
    }
    const p50 = pct(rows[1]![1].sorted, 50);
    console.log(`\ntarget: transport p50 ≤ 0.5 ms — ${p50 <= 0.5 ? 'met' : 'MISSED'} (${p50.toFixed(3)} ms)`);
  } finally {
    await outProc.stop();
    await inProc.stop();
  }
}

if (process.env[DEFAULT_MAGIC_COOKIE.key] === DEFAULT_MAGIC_COOKIE.value) {
  await serveInstanceGroup(fixedGroup, { name: 'bench-plugin', version: '0.0.0' });
} else {
  await main();
}
