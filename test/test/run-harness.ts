// Helpers for the `runner run` end-to-end tests (run-*.test.ts): a config for the GitLab stand-in and the local
// plugin, the manager as a real child process with its JSON log, and checks on what the local plugin leaves behind.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@fleetrunner/testing';

/** The `runner` binary of this checkout. */
export const RUNNER_BIN = fileURLToPath(new URL('../../../packages/cli/bin/runner.js', import.meta.url));

/** git with no user or system configuration and no prompts. */
export const gitEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' };

/** A small git repository with one commit. */
export function makeRepo(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const g = (...args: string[]): string => execFileSync('git', ['-c', 'user.name=CI', '-c', 'user.email=ci@example.com', ...args], { cwd: dir, env: gitEnv, encoding: 'utf8' });
  g('init', '-q', '-b', 'main');
  writeFileSync(join(dir, 'README.md'), '# project\n');
  writeFileSync(join(dir, 'build.sh'), '#!/bin/sh\necho "built by $0"\n', { mode: 0o755 });
  g('add', '.');
  g('commit', '-q', '-m', 'first');
  return dir;
}

/** What goes into the test config. */
export interface RunConfigOptions {
  dir: string;
  url: string;
  token: string;
  /** Loopback subnet for the local plugin's instances (unique per test). */
  subnet: string;
  mode?: 'ssh2' | 'sshd';
  concurrent?: number;
  capacity?: number;
  maxInstances?: number;
  shutdownTimeoutS?: number;
  deleteOnShutdown?: boolean;
  /** Extra TOML lines for the runner entry (before its tables). */
  runnerExtra?: string;
  /** Extra `[runners.autoscaler]` keys, as TOML. */
  autoscalerExtra?: string;
  /** Extra `[[runners]]` entries, as TOML. */
  moreRunners?: string;
  idleCount?: number;
}

/** Writes `config.toml` in `dir` and returns its path. The plugin's state lives in `<dir>/plugin`. */
export function writeRunConfig(o: RunConfigOptions): string {
  const file = join(o.dir, 'config.toml');
  writeFileSync(
    file,
    `concurrent = ${o.concurrent ?? 4}
check_interval = 1
shutdown_timeout = ${o.shutdownTimeoutS ?? 20}
listen_address = "127.0.0.1:0"
log_format = "json"

[[runners]]
name = "e2e"
url = "${o.url}"
token = "${o.token}"
executor = "instance"
${o.runnerExtra ?? ''}
[runners.autoscaler]
plugin = "local"
capacity_per_instance = ${o.capacity ?? 2}
max_instances = ${o.maxInstances ?? 2}
update_interval_when_expecting = "250ms"
shutdown_deletion_interval = "250ms"
deletion_retry_interval = "1s"
delete_instances_on_shutdown = ${o.deleteOnShutdown ?? true}
${o.autoscalerExtra ?? ''}
[runners.autoscaler.plugin_config]
mode = "${o.mode ?? 'ssh2'}"
subnet = "${o.subnet}"
state_dir = "${join(o.dir, 'plugin')}"
max_size = 4
[[runners.autoscaler.policy]]
idle_count = ${o.idleCount ?? 0}
idle_time = "1m"
${o.moreRunners ?? ''}
`,
  );
  return file;
}

/** One JSON log entry of the manager. */
export type LogEntry = Record<string, unknown> & { msg: string; level: string };

/** A `runner run` child process. */
export interface ManagerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly log: LogEntry[];
  /** Raw stderr lines that were not JSON. */
  readonly other: string[];
  /** Resolves with the exit code (or the signal) once the process is gone. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first log entry satisfying `pred`. */
  waitForLog(pred: (e: LogEntry) => boolean, what: string, timeoutMs?: number): Promise<LogEntry>;
  /** `host:port` of /metrics. */
  metricsAddress(): Promise<string>;
  /** GET /metrics text. */
  metrics(): Promise<string>;
  /** Process ids of the plugin processes it started (from its log). */
  pluginPids(): number[];
}

/** Starts `runner run --config <file>`; kills it (SIGKILL) when the test ends if it is still running. */
export function startManager(t: { teardown(fn: () => unknown): void }, configFile: string, args: string[] = []): ManagerProcess {
  const child = spawn(process.execPath, [RUNNER_BIN, 'run', '--config', configFile, '--log-level', 'debug', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const log: LogEntry[] = [];
  const other: string[] = [];
  const waiters = new Set<() => void>();
  let buf = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        log.push(JSON.parse(line) as LogEntry);
      } catch {
        other.push(line);
      }
    }
    for (const w of [...waiters]) w();
  });
  child.stdout!.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let gone = false;
  void exited.then(() => {
    gone = true;
    for (const w of [...waiters]) w();
  });
  t.teardown(async () => {
    if (gone) return;
    // A failed test: leave nothing behind, the manager's plugin nor the instances (detached, like cloud VMs).
    child.kill('SIGKILL');
    await exited;
    for (const pid of instanceProcesses(dirname(configFile))) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  });
  const waitForLog = (pred: (e: LogEntry) => boolean, what: string, timeoutMs = 60_000): Promise<LogEntry> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const hit = log.find(pred);
        if (hit) {
          done();
          resolve(hit);
        } else if (gone) {
          done();
          reject(new Error(`manager exited before logging ${what}; last log: ${JSON.stringify(log.slice(-5))} ${other.slice(-5).join('\n')}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out waiting for the manager to log ${what}; last log: ${JSON.stringify(log.slice(-5))}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  const metricsAddress = async (): Promise<string> => String((await waitForLog((e) => e.msg === 'metrics server listening', 'the metrics address')).address);
  return {
    child,
    pid: child.pid!,
    log,
    other,
    exited,
    waitForLog,
    metricsAddress,
    metrics: async () => (await fetch(`http://${await metricsAddress()}/metrics`)).text(),
    pluginPids: () => log.filter((e) => e.msg === 'plugin started' && typeof e.pid === 'number').map((e) => e.pid as number),
  };
}

/** Whether a process exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Instance directories the local plugin still has under `<dir>/plugin/instances`. */
export function instanceDirs(dir: string): string[] {
  const d = join(dir, 'plugin', 'instances');
  return existsSync(d) ? readdirSync(d) : [];
}

/** Processes that carry the local plugin's instance marker for an instance under `dir`. */
export function instanceProcesses(dir: string): number[] {
  const marker = `FLEETRUNNER_LOCAL_INSTANCE=${join(dir, 'plugin', 'instances')}`;
  const out: number[] = [];
  for (const n of readdirSync('/proc')) {
    if (!/^\d+$/.test(n)) continue;
    try {
      if (readFileSync(`/proc/${n}/environ`, 'latin1').includes(marker)) out.push(Number(n));
    } catch {
      // gone or not ours
    }
  }
  return out;
}

/** Waits until no instance of the test's plugin is left (files and processes). */
export async function noInstancesLeft(dir: string, timeoutMs = 20_000): Promise<void> {
  await waitFor(() => instanceDirs(dir).length === 0 && instanceProcesses(dir).length === 0, { what: `no local instances left under ${dir}`, timeoutMs });
}

/**
 * Log entries of the manager's process-level guard (an error that escaped from where it arose). Tests of faults in
 * archive, cache and trace paths expect none: every such error must be handled where it happens.
 */
export function guardCatches(m: ManagerProcess): LogEntry[] {
  return m.log.filter((e) => /^(uncaught exception|unhandled rejection) /.test(e.msg));
}
