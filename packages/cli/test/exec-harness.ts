// Runs the real `node_modules/.bin/runner exec` binary on fixture projects in temp dirs. Each run gets its own
// config (local plugin on a loopback subnet of 127.101.0.0/16, which no other package's tests use), state dir,
// cache dir and TMPDIR, so runs never collide with each other, with other tests or with the user's own state.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { killTree, tmpDir, type Teardownable } from '@fleetrunner/testing';

/** The repository root (this file runs from packages/cli/dist/test). */
export const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const RUNNER = join(ROOT, 'node_modules', '.bin', 'runner');

/** One job of the `--report` file, as far as the tests read it. */
export interface ReportJob {
  name: string;
  stage: string;
  status: string;
  exitCode?: number;
  failureReason?: string;
  message?: string;
  instanceId?: string;
  slot?: number;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  stages: { name: string; durationMs: number; outcome: string; exitCode?: number }[];
}

/** The `--report` file. */
export interface Report {
  status: string;
  jobs: ReportJob[];
}

function isReport(v: unknown): v is Report {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as { status?: unknown; jobs?: unknown };
  return typeof r.status === 'string' && Array.isArray(r.jobs) && r.jobs.every((j: unknown) => typeof j === 'object' && j !== null && typeof (j as { name?: unknown }).name === 'string' && Array.isArray((j as { stages?: unknown }).stages));
}

/** A sandbox for `runner exec` runs: config, state, cache and temp dirs of its own. */
export interface ExecSandbox {
  dir: string;
  stateDir: string;
  configPath: string;
  env: NodeJS.ProcessEnv;
}

/** Options of {@link sandbox}. */
export interface SandboxOptions {
  /** A /24 or smaller inside 127.101.0.0/16, unique per test file (files run in parallel). */
  subnet: string;
  mode?: 'ssh2' | 'sshd';
  capacityPerInstance?: number;
  maxInstances?: number;
  /** `max_use_count`; default 0 (unlimited). */
  maxUseCount?: number;
  /** `shell`; `pwsh`/`powershell` are valid config the instance executor refuses. */
  shell?: 'bash' | 'sh' | 'pwsh' | 'powershell';
  /** Extra `[[runners]]` lines (TOML), e.g. `pre_build_script = "…"`. */
  runnerExtra?: string;
  /** Extra `[runners.autoscaler]` keys and `[[runners.autoscaler.policy]]` keys (TOML). */
  autoscalerExtra?: string;
  policyExtra?: string;
}

/**
 * Makes a sandbox whose config.toml points at the local plugin (as `runner exec`'s built-in config does, plus the
 * subnet, mode and state dir). At teardown every process of its instances is killed, whatever the run did.
 */
export function sandbox(t: Teardownable, o: SandboxOptions): ExecSandbox {
  const dir = tmpDir(t, { prefix: 'cli-exec' });
  const stateDir = join(dir, 'state');
  const configPath = join(dir, 'config.toml');
  for (const d of ['cache', 'tmp', 'xdg-state']) mkdirSync(join(dir, d));
  writeFileSync(
    configPath,
    `concurrent = 4
[[runners]]
name = "exec-test"
url = "http://localhost"
token = "exec-test"
executor = "instance"
shell = "${o.shell ?? 'bash'}"
${o.runnerExtra ?? ''}
[runners.autoscaler]
plugin = "local"
capacity_per_instance = ${o.capacityPerInstance ?? 2}
max_instances = ${o.maxInstances ?? 2}
max_use_count = ${o.maxUseCount ?? 0}
${o.autoscalerExtra ?? ''}
delete_instances_on_shutdown = true
update_interval = "1s"
update_interval_when_expecting = "250ms"
shutdown_deletion_interval = "250ms"
[runners.autoscaler.state_storage]
enabled = false
[runners.autoscaler.plugin_config]
mode = "${o.mode ?? 'ssh2'}"
subnet = "${o.subnet}"
max_size = 4
state_dir = "${stateDir}"
[[runners.autoscaler.policy]]
idle_count = 0
idle_time = "30s"
${o.policyExtra ?? ''}
`,
  );
  t.teardown(() => purgeInstances(stateDir));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    XDG_CACHE_HOME: join(dir, 'cache'),
    XDG_STATE_HOME: join(dir, 'xdg-state'),
    TMPDIR: join(dir, 'tmp'),
  };
  return { dir, stateDir, configPath, env };
}

/** Kills every process that belongs to an instance under `stateDir` (by its command line or its environment). */
export function purgeInstances(stateDir: string): void {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n) && Number(n) !== process.pid);
  } catch {
    return;
  }
  for (const pid of pids) {
    try {
      const seen = readFileSync(`/proc/${pid}/cmdline`, 'utf8') + readFileSync(`/proc/${pid}/environ`, 'utf8');
      if (seen.includes(stateDir)) process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone, or not ours to read
    }
  }
}

/** How one `runner exec` run ended. */
export interface ExecRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The parsed `--report` file. */
  report: Report;
}

/**
 * Runs `runner exec --config <sandbox config> --report <file> ...args` in `cwd` and waits for it to exit. A run
 * still going after `timeoutMs` (default 60 s) is killed with its whole tree, and the test fails on the missing report.
 * `during` runs beside the child (to signal it, say); its failure kills the child and fails the run.
 */
export async function runExec(
  t: Teardownable,
  box: ExecSandbox,
  cwd: string,
  args: string[],
  timeoutMs = 60_000,
  during?: (child: ChildProcess) => Promise<void>,
): Promise<ExecRun> {
  const reportPath = join(box.dir, `report-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
  const child = spawn(RUNNER, ['exec', '--config', box.configPath, '--report', reportPath, ...args], { cwd, env: box.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const kill = (): void => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) killTree(child.pid);
  };
  t.teardown(kill);
  const timer = setTimeout(kill, timeoutMs);
  const closed = new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
  const [code] = await Promise.all([
    closed,
    during?.(child).catch((err: unknown) => {
      kill();
      throw err;
    }),
  ]).finally(() => clearTimeout(timer));
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(reportPath, 'utf8')) as unknown;
  } catch (err) {
    throw new Error(`runner exec wrote no report (exit ${code}): ${String(err)}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`);
  }
  if (!isReport(parsed)) throw new Error(`unexpected report shape: ${JSON.stringify(parsed).slice(0, 500)}`);
  return { code, stdout, stderr, report: parsed };
}

/** The job log `runner exec` printed for `name` (between its header and the next one or the summary). */
export function jobLog(stdout: string, name: string): string {
  // runner exec streams logs: a job's lines come raw under a `━━━ name ━━━` header while it runs alone, prefixed
  // `name │ ` while several run, and its `━━━ name (status)` footer ends them.
  const out: string[] = [];
  let current: string | undefined;
  const prefix = `${name} │ `;
  for (const raw of stdout.split('\n')) {
    // eslint-disable-next-line no-control-regex -- GitLab's section markers end in \r ESC[0K
    const marker = /^(?:.*\r\x1b\[0K)?/.exec(raw)?.[0] ?? '';
    const line = raw.slice(marker.length);
    const header = /^━━━ (.+?) (\((\w+)\) )?━+$/.exec(raw);
    if (header) {
      if (header[1] === name && header[2]) out.push(raw);
      current = header[2] ? undefined : header[1];
      continue;
    }
    if (line.startsWith(prefix)) {
      out.push(marker + line.slice(prefix.length));
      continue;
    }
    if (raw.startsWith('▶ ')) continue; // a job started (printed between lines)
    if (/^\S.*? │ /.test(line) || /^JOB +STATUS/.test(raw)) {
      current = undefined;
      continue;
    }
    if (current === name) out.push(raw);
  }
  return out.join('\n');
}

/** The report entry of job `name`; fails loudly when it is missing. */
export function job(run: ExecRun, name: string): ReportJob {
  const j = run.report.jobs.find((x) => x.name === name);
  if (!j) throw new Error(`no job ${name} in the report: ${run.report.jobs.map((x) => x.name).join(', ')}\n${run.stdout}\n${run.stderr}`);
  return j;
}

/** Writes `files` (relative path → content) under `dir`. */
export function writeTree(dir: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), content);
  }
}
