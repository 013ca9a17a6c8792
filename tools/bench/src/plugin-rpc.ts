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

const WARMUP = 2000;
const ROUNDS = 10;
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

/** One path under test; samples accumulate over interleaved rounds so warm-up and drift hit every path alike. */
class Path {
  readonly samples: number[] = [];
  private hostCpu = 0;
  private pluginCpu = 0;

  constructor(
    readonly name: string,
    private readonly call: () => Promise<unknown>,
    private readonly pluginPid?: number,
  ) {}

  async warm(n: number): Promise<void> {
    for (let i = 0; i < n; i++) await this.call();
  }

  async round(n: number): Promise<void> {
    const cpu0 = process.cpuUsage();
    const plugin0 = processCpuUs(this.pluginPid);
    for (let i = 0; i < n; i++) {
      const t0 = process.hrtime.bigint();
      await this.call();
      this.samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    const cpu = process.cpuUsage(cpu0);
    this.hostCpu += cpu.user + cpu.system;
    this.pluginCpu += processCpuUs(this.pluginPid) - plugin0;
  }

  result(): Result {
    const n = this.samples.length;
    return { sorted: [...this.samples].sort((a, b) => a - b), hostCpuUs: this.hostCpu / n, pluginCpuUs: this.pluginCpu / n };
  }
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
    const paths = [
      new Path('in-process InstanceGroup (baseline)', () => inProc.group.connectInfo('i-1')),
      new Path('plugin process: GrpcInstanceGroup', () => outProc.group.connectInfo('i-1'), pid),
      new Path('plugin process: bare callUnary', () => callUnary(client, fleetingV1.InstanceGroupService.connectInfo, { id: 'i-1' }), pid),
    ];
    for (const p of paths) await p.warm(WARMUP);
    for (let r = 0; r < ROUNDS; r++) for (const p of paths) await p.round(CALLS / ROUNDS);
    const rows = paths.map((p): [string, Result] => [p.name, p.result()]);
    console.log(`ConnectInfo round trip, ${CALLS} sequential calls each in ${ROUNDS} interleaved rounds, after ${WARMUP} warm-up calls (node ${process.version}, load ${loadavg()[0]!.toFixed(2)})\n`);
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
