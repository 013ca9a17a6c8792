// `runner run` under load: 200 concurrent short jobs that stream their logs through the GitLab stand-in, on
// local-plugin instances (4 instances × 50 slots, ssh2 mode, warmed up before the jobs are queued). Prints the
// manager process's peak RSS (VmHWM), its CPU seconds, and job throughput. Baselines from the same run: the same
// manager idle after warm-up (RSS, CPU), and one job alone (latency → the throughput of running jobs one by one).
// Target: peak RSS ≤ 150 MB.
//
// The stand-in and the manager are child processes of this script (the stand-in's admin API queues the jobs), so
// the manager's numbers are its own. BENCH_JOBS (default 200) and BENCH_LINES (log lines per job, default 200)
// change the load; BENCH_NODE_FLAGS is put before the manager's script (e.g. `--heapsnapshot-signal=SIGUSR2`).
// GitLab's trace update interval is 1 s here (GitLab's default is 3 s), so logs stream while the jobs run.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lines } from './lines.js';

const JOBS = Number(process.env.BENCH_JOBS ?? 200);
const LINES = Number(process.env.BENCH_LINES ?? 200);
const INSTANCES = 4;
const CAPACITY = Math.ceil(JOBS / INSTANCES);
const TARGET_MB = 150;
const root = fileURLToPath(new URL('../../../../', import.meta.url));
const RUNNER = join(root, 'packages/cli/bin/runner.js');
const STANDIN = join(root, 'test/dist/src/gitlab-standin/main.js');
const CLK_TCK = 100;

/** Peak and current resident set (MiB) and CPU seconds of a process, from /proc. */
function usage(pid: number): { hwmMb: number; rssMb: number; cpuS: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { hwmMb: kb('VmHWM') / 1024, rssMb: kb('VmRSS') / 1024, cpuS: ticks / CLK_TCK };
}

/** Collects a child's stdout lines; resolves `first(pred)` with the first matching one. */

async function json(url: string, init?: RequestInit): Promise<Record<string, unknown>> {
  const res = await fetch(url, init);
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${url}: HTTP ${res.status}`);
  return (await res.json()) as Record<string, unknown>;
}

/** Kills local-plugin instance processes under `instancesDir` that a failed run may have left. */
function killInstances(instancesDir: string): void {
  for (const n of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      if (readFileSync(`/proc/${n}/environ`, 'latin1').includes(`FLEETRUNNER_LOCAL_INSTANCE=${instancesDir}`)) process.kill(Number(n), 'SIGKILL');
    } catch {
      // gone, or not ours
    }
  }
}

const mb = (n: number): string => n.toFixed(1);
const gauge = (text: string, name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0) / 2 ** 20;

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Starts the stand-in; resolves to its URL and a registered runner's token. */
async function startStandin(): Promise<{ standin: ChildProcess; url: string; token: string }> {
  const standin = spawn(process.execPath, [STANDIN, '--long-poll-ms', '2000', '--trace-update-interval', '1'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const out = lines(standin.stdout!);
  const url = (await out.first((l) => l.startsWith('url='))).slice(4);
  const token = (await out.first((l) => l.startsWith('runner_token='))).slice(13);
  return { standin, url, token };
}

function configText(url: string, token: string, dir: string): string {
  return `concurrent = ${JOBS + 10}
check_interval = 1
shutdown_timeout = 30
listen_address = "127.0.0.1:0"
log_format = "json"
log_level = "info"
[[runners]]
name = "bench"
url = "${url}"
token = "${token}"
executor = "instance"
request_concurrency = 4
[runners.autoscaler]
plugin = "local"
capacity_per_instance = ${CAPACITY}
max_instances = ${INSTANCES}
update_interval_when_expecting = "250ms"
shutdown_deletion_interval = "250ms"
delete_instances_on_shutdown = true
[runners.autoscaler.plugin_config]
subnet = "127.81.200.0/24"
state_dir = "${join(dir, 'plugin')}"
max_size = ${INSTANCES}
[runners.autoscaler.state_storage]
enabled = false
[[runners.autoscaler.policy]]
idle_count = ${JOBS}
idle_time = "10m"
`;
}

interface Measured {
  idle: ReturnType<typeof usage>;
  idleHeap: string;
  before: ReturnType<typeof usage>;
  singleS: number;
  single: string;
  after: ReturnType<typeof usage>;
  peakRss: number;
  peakHeap: string;
  wallS: number;
  ok: number;
}

/** Warm-up, one job alone, then all jobs at once, sampling the manager's memory. */
async function measure(pid: number, url: string, metrics: () => Promise<string>): Promise<Measured> {
  // Every instance became ready (the readiness histogram counts each once).
  const ready = new RegExp(`^fleeting_taskscaler_task_instance_readiness_time_seconds_count\\{[^}]*\\} ${INSTANCES}$`, 'm');
  while (!ready.test(await metrics())) await pause(200);
  await pause(2000);
  const idle = usage(pid);
  const heapOf = (t: string): string =>
    `V8 heap ${mb(gauge(t, 'nodejs_heap_size_used_bytes'))} used of ${mb(gauge(t, 'nodejs_heap_size_total_bytes'))} MiB, external ${mb(gauge(t, 'nodejs_external_memory_bytes'))} MiB (array buffers ${mb(gauge(t, 'nodejs_array_buffers_bytes'))} MiB)`;
  const idleHeap = heapOf(await metrics());
  const script = [`i=1; while [ $i -le ${LINES} ]; do echo "job $CI_JOB_ID line $i: some build output to stream through the trace"; i=$((i+1)); done`];
  const spec = JSON.stringify({ variables: [{ key: 'GIT_STRATEGY', value: 'none', public: true }], script });
  const enqueue = async (): Promise<number> => (await json(`${url}/-/standin/jobs`, { method: 'POST', body: spec })).id as number;
  const waitJob = async (id: number): Promise<string> => (await json(`${url}/-/standin/jobs/${id}/wait?timeout_ms=600000`)).status as string;

  const t1 = performance.now();
  const single = await waitJob(await enqueue());
  const singleS = (performance.now() - t1) / 1000;

  const before = usage(pid);
  let peakRss = before.rssMb;
  let peakHeap = '';
  const sampler = setInterval(() => {
    const u = usage(pid);
    if (u.rssMb <= peakRss) return;
    peakRss = u.rssMb;
    void metrics().then((t) => (peakHeap = heapOf(t)));
  }, 100);
  const t0 = performance.now();
  const ids: number[] = [];
  for (let i = 0; i < JOBS; i++) ids.push(await enqueue());
  const statuses = await Promise.all(ids.map(waitJob));
  const wallS = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  const after = usage(pid);
  return { idle, idleHeap, before, singleS, single, after, peakRss, peakHeap, wallS, ok: statuses.filter((x) => x === 'success').length };
}

function report(m: Measured): void {
  const row = (a: string, b: string, c: string, d: string, e: string): string => `${a.padEnd(34)}${b.padStart(12)}${c.padStart(12)}${d.padStart(14)}${e.padStart(12)}`;
  const peak = Math.max(m.after.hwmMb, m.peakRss);
  console.log(`manager benchmark: ${JOBS} jobs × ${LINES} log lines, ${INSTANCES} local instances × ${CAPACITY} slots; ${cpus().length} CPUs, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log(row('phase', 'RSS MiB', 'peak MiB', 'CPU s', 'jobs/s'));
  console.log(row('baseline: idle after warm-up', mb(m.idle.rssMb), mb(m.idle.hwmMb), m.idle.cpuS.toFixed(2), '-'));
  console.log(row('baseline: one job alone', mb(m.before.rssMb), mb(m.before.hwmMb), (m.before.cpuS - m.idle.cpuS).toFixed(2), (1 / m.singleS).toFixed(2)));
  console.log(row(`${JOBS} concurrent jobs`, mb(m.after.rssMb), mb(peak), (m.after.cpuS - m.before.cpuS).toFixed(2), (JOBS / m.wallS).toFixed(2)));
  console.log(`idle: ${m.idleHeap}`);
  console.log(`at the RSS peak: ${m.peakHeap}`);
  console.log(`jobs: ${m.ok}/${JOBS} succeeded (single job: ${m.single}); wall ${m.wallS.toFixed(1)} s; manager CPU per job ${(((m.after.cpuS - m.before.cpuS) / JOBS) * 1000).toFixed(1)} ms`);
  console.log(`peak RSS ${(peak * 1.048576).toFixed(1)} MB vs target ${TARGET_MB} MB: ${peak * 1.048576 <= TARGET_MB ? 'ok' : 'OVER'}`);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-manager-'));
  const { standin, url, token } = await startStandin();
  const config = join(dir, 'config.toml');
  writeFileSync(config, configText(url, token, dir));
  const flags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const manager = spawn(process.execPath, [...flags, RUNNER, 'run', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  const log = lines(manager.stderr!);
  const exited = new Promise<number | null>((resolve) => manager.once('exit', (code) => resolve(code)));
  try {
    const address = /"address":"([^"]+)"/.exec(await log.first((l) => l.includes('metrics server listening')))![1]!;
    const m = await measure(manager.pid!, url, async () => (await fetch(`http://${address}/metrics`)).text());
    report(m);
    if (m.ok !== JOBS) process.exitCode = 1;
  } finally {
    manager.kill('SIGQUIT');
    await exited;
    standin.kill('SIGTERM');
    killInstances(join(dir, 'plugin', 'instances'));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
