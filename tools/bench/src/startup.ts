// CLI start-up: files loaded and wall time of `runner --version` and of `runner exec` on a one-`echo hi`-job
// pipeline (built-in config, local plugin), and the idle RSS of `runner run` with one runner polling the GitLab
// stand-in (local plugin, no instances), with the files it loaded. Baseline in the same run: `node -e 0`.
// Targets: each command loads only its own modules; idle RSS of `runner run` ≤ 50 MB.
//
// Files are counted by a preload (`startup-count.js`: a module load hook plus the CommonJS require cache), in runs
// of their own: wall times come from runs without it. BENCH_ROUNDS (default 7) runs per wall-time median.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lines } from './lines.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const TARGET_IDLE_MB = 50;
const root = fileURLToPath(new URL('../../../../', import.meta.url));
const RUNNER = join(root, 'packages/cli/bin/runner.js');
const STANDIN = join(root, 'test/dist/src/gitlab-standin/main.js');
const PRELOAD = fileURLToPath(new URL('./startup-count.js', import.meta.url));
const OWN_DIR = fileURLToPath(new URL('.', import.meta.url));

/** Runs a command to its end; resolves to its wall time in seconds; rejects (with its output) when it fails. */
function timed(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolve((performance.now() - t0) / 1000);
      else reject(new Error(`node ${args.join(' ')}: exit ${code ?? signal}\n${out.slice(-4000)}`));
    });
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** The files a run loaded (the preload's own left out), from the list the preload wrote. */
function loadedFiles(list: string): string[] {
  const files = new Set(readFileSync(list, 'utf8').split('\n').filter((f) => f && !f.startsWith(OWN_DIR)));
  rmSync(list, { force: true });
  return [...files];
}

/** Files per package (`@scope/name`, or the workspace folder), largest first. */
function byPackage(files: string[], top = 8): string {
  const counts = new Map<string, number>();
  for (const f of files) {
    const nm = f.lastIndexOf('/node_modules/');
    const rel = nm >= 0 ? f.slice(nm + 14) : f.startsWith(root) ? f.slice(root.length) : f;
    const parts = rel.split('/');
    const key = nm >= 0 ? (rel.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!) : parts.slice(0, 2).join('/');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
}


function rssOf(pid: number): { rssMb: number; hwmMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { rssMb: (kb('VmRSS') * 1024) / 1e6, hwmMb: (kb('VmHWM') * 1024) / 1e6 };
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `runner run` with one runner against the stand-in: RSS after it has polled idle for a while; files when it ends. */
async function idleRun(dir: string, countFile: string | undefined): Promise<{ rssMb: number; hwmMb: number; files: string[] }> {
  const standin = spawn(process.execPath, [STANDIN, '--host', '127.98.0.1', '--long-poll-ms', '2000'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const standinOut = lines(standin.stdout);
  try {
    const url = (await standinOut.first((l) => l.startsWith('url='))).slice(4);
    const token = (await standinOut.first((l) => l.startsWith('runner_token='))).slice(13);
    const config = join(dir, 'config.toml');
    writeFileSync(
      config,
      `concurrent = 4
check_interval = 1
listen_address = "127.98.0.1:0"
log_format = "json"
log_level = "info"
[[runners]]
name = "idle"
url = "${url}"
token = "${token}"
executor = "instance"
[runners.autoscaler]
plugin = "local"
capacity_per_instance = 2
max_instances = 1
delete_instances_on_shutdown = true
[runners.autoscaler.plugin_config]
subnet = "127.98.1.0/24"
state_dir = "${join(dir, 'plugin')}"
max_size = 1
[runners.autoscaler.state_storage]
enabled = false
[[runners.autoscaler.policy]]
idle_count = 0
idle_time = "10m"
`,
    );
    const args = countFile ? ['--import', PRELOAD, RUNNER, 'run', '--config', config] : [RUNNER, 'run', '--config', config];
    const env = countFile ? { ...process.env, BENCH_LOADED_FILE: countFile } : process.env;
    const manager = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise<void>((resolve) => manager.once('exit', () => resolve()));
    const log = lines(manager.stderr);
    try {
      await Promise.race([log.first((l) => l.includes('metrics server listening')), exited.then(() => Promise.reject(new Error('runner run exited before it listened')))]);
      // Several long polls of the stand-in (no jobs): the manager's steady idle state.
      await pause(6000);
      const rss = rssOf(manager.pid!);
      manager.kill('SIGQUIT');
      await exited;
      return { ...rss, files: countFile ? loadedFiles(countFile) : [] };
    } finally {
      manager.kill('SIGKILL');
    }
  } finally {
    standin.kill('SIGTERM');
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-startup-'));
  try {
    const proj = join(dir, 'one');
    mkdirSync(proj);
    writeFileSync(join(proj, '.gitlab-ci.yml'), 'hi:\n  script:\n    - echo hi\n');
    const git = (...args: string[]): void => void execFileSync('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@example.com', ...args], { cwd: proj, stdio: 'ignore' });
    git('init', '-q', '-b', 'main');
    git('add', '-A');
    git('commit', '-q', '-m', 'bench');
    const env = { ...process.env, XDG_CACHE_HOME: join(dir, 'cache') };
    const countFile = join(dir, 'loaded.txt');
    const countEnv = { ...env, BENCH_LOADED_FILE: countFile };

    const cases: [string, string[]][] = [
      ['runner --version', [RUNNER, '--version']],
      ['runner exec (one `echo hi` job)', [RUNNER, 'exec']],
    ];
    const results: { name: string; files: string[]; wall: number }[] = [];
    const baseline: number[] = [];
    for (let i = 0; i < ROUNDS; i++) baseline.push(await timed(['-e', '0'], proj, env));
    for (const [name, args] of cases) {
      await timed(['--import', PRELOAD, ...args], proj, countEnv);
      const files = loadedFiles(countFile);
      const walls: number[] = [];
      for (let i = 0; i < ROUNDS; i++) walls.push(await timed(args, proj, env));
      results.push({ name, files, wall: median(walls) });
    }
    const counted = await idleRun(dir, countFile);
    const idle = await idleRun(dir, undefined);

    console.log(`startup: ${cpus().length} CPUs, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}; Node ${process.version}; wall times are medians of ${ROUNDS}`);
    const row = (a: string, b: string, c: string): string => `${a.padEnd(36)}${b.padStart(8)}${c.padStart(12)}`;
    console.log(row('command', 'files', 'wall'));
    console.log(row('baseline: node -e 0', '-', `${(median(baseline) * 1000).toFixed(0)} ms`));
    for (const r of results) console.log(row(r.name, String(r.files.length), `${(r.wall * 1000).toFixed(0)} ms`));
    console.log(row('runner run, one runner, idle', String(counted.files.length), '-'));
    for (const r of results) console.log(`  ${r.name}: ${byPackage(r.files)}`);
    console.log(`  runner run: ${byPackage(counted.files)}`);
    console.log(`runner run idle RSS ${idle.rssMb.toFixed(1)} MB (peak ${idle.hwmMb.toFixed(1)} MB) vs target ${TARGET_IDLE_MB} MB: ${idle.rssMb <= TARGET_IDLE_MB ? 'ok' : 'OVER'}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
