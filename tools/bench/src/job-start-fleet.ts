// Our side of the job-start benchmark: the local plugin (as a plugin process), a taskscaler keeping one warm
// instance, and the SSH connector — the path `runner exec` and the manager take for every job.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Duplex } from 'node:stream';
import { systemClock } from '@fleetrunner/common';
import { SshConnector, type Connection, type ExecOptions, type ExecResult } from '@fleetrunner/connector';
import { LocalArchiveStore, LocalArtifactBackend, runJob, shellCommand, type ExecutorSettings } from '@fleetrunner/executor';
import { defaultConnectorConfig, runPlugin, type RunningPlugin } from '@fleetrunner/fleeting';
import { parseJobPayload, type JobPayload } from '@fleetrunner/gitlab';
import { createTaskscaler, type Taskscaler } from '@fleetrunner/taskscaler';

/** The user script of every sample; its output line is what "first byte of the user's script" waits for. */
const USER_LINE = 'bench-output';

/** BENCH_TRACE=1: every chunk of every job's log on stderr with its time since acquire (where the time goes). */
const TRACE = process.env.BENCH_TRACE === '1';

const SETTINGS: ExecutorSettings = { shell: 'sh', shortToken: 'bench', managerHostname: 'bench', runnerVersion: { version: '0.0.0', revision: 'bench' } };

function localPluginBin(): string {
  // <pkg>/dist/src/index.js → <pkg>/bin/plugin.js
  return join(dirname(dirname(dirname(fileURLToPath(import.meta.resolve('@fleetrunner/plugin-local'))))), 'bin', 'plugin.js');
}

const ms = (t0: bigint, t1: bigint): number => Number(t1 - t0) / 1e6;

/** Records when the first stdout byte of any exec arrives; everything else goes straight through. */
class FirstByteConnection implements Connection {
  firstStdout: bigint | undefined;
  /** SSH execs the job opened. */
  execs = 0;
  constructor(private readonly inner: Connection) {}
  get instanceId(): string {
    return this.inner.instanceId;
  }
  get address(): string {
    return this.inner.address;
  }
  get state(): 'open' | 'closed' {
    return this.inner.state;
  }
  exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    this.execs++;
    return this.inner.exec(command, {
      ...options,
      onStdout: (chunk) => {
        this.firstStdout ??= process.hrtime.bigint();
        options.onStdout?.(chunk);
      },
    });
  }
  forwardTcp(host: string, port: number, options?: { signal?: AbortSignal }): Promise<Duplex> {
    return this.inner.forwardTcp(host, port, options);
  }
  forwardUnix(path: string, options?: { signal?: AbortSignal }): Promise<Duplex> {
    return this.inner.forwardUnix(path, options);
  }
  close(): void {
    this.inner.close();
  }
}

/** Timings of one full job, ms from the call to `acquire`. */
export interface JobTimes {
  /** First byte any stage script printed (prepare_script's). */
  firstByte: number;
  /** First byte of the user's own script output (after prepare, get_sources…). */
  userLine: number;
  /** SSH execs the whole job opened. */
  execs: number;
  /** CPU seconds this (the manager's) process spent on the job, user + system. */
  cpuS: number;
}

/** A warm local-plugin instance behind a taskscaler, and the two ways of timing a job start on it. */
export interface FleetPath {
  /** acquire → connect (reused) → `sh -s` with a one-line script on stdin, as a stage runs → first stdout byte. */
  stageStart(): Promise<number>;
  /** acquire → connect → the executor's whole `runJob` of a one-line job → its first output bytes. */
  fullJob(): Promise<JobTimes>;
  stop(): Promise<void>;
}

let nextJob = 1;

function payload(): JobPayload {
  const id = nextJob++;
  return parseJobPayload({
    id,
    token: `bench-${id}`,
    allow_git_fetch: false,
    job_info: { name: 'bench', stage: 'test', project_id: 1, project_full_path: 'bench/project', project_name: 'project' },
    git_info: { repo_url: 'https://example.invalid/bench/project.git', ref: 'main', sha: '0'.repeat(40), before_sha: '0'.repeat(40), ref_type: 'branch', refspecs: [], depth: 0 },
    runner_info: { timeout: 600 },
    variables: [{ key: 'GIT_STRATEGY', value: 'none', public: true }],
    steps: [{ name: 'script', script: [`echo ${USER_LINE}`], timeout: 0, when: 'on_success', allow_failure: false }],
    features: { trace_sections: true },
  });
}

/** A taskscaler over `plugin` that keeps one idle slot on one instance (of capacity 1), deleted at shutdown. */
function oneWarmInstance(plugin: RunningPlugin, pluginConfig: Record<string, unknown>): Promise<Taskscaler> {
  return createTaskscaler(plugin.group, {
    capacityPerInstance: 1,
    maxInstances: 1,
    // Not preemptive: the first acquire waits for the instance instead of failing while it boots.
    policies: [{ idleCount: 1, idleTimeMs: 3_600_000, preemptiveMode: false }],
    updateIntervalWhenExpectingMs: 100,
    deleteInstancesOnShutdown: true,
    shutdownDeletionIntervalMs: 200,
    stateStorage: { enabled: false },
    instanceGroup: { pluginConfig, connector: defaultConnectorConfig() },
  });
}

/** Starts the local plugin in `mode` on `subnet`, a taskscaler that keeps one idle slot, and waits until it is warm. */
export async function startFleetPath(mode: 'ssh2' | 'sshd', subnet: string, dir: string): Promise<FleetPath> {
  mkdirSync(dir, { recursive: true });
  const plugin: RunningPlugin = await runPlugin(localPluginBin(), { name: `local-${mode}` });
  const ts = await oneWarmInstance(plugin, { mode, subnet, max_size: 1, state_dir: join(dir, 'state') }).catch(async (err: unknown) => {
    await plugin.stop();
    throw err;
  });
  const connector = new SshConnector();
  const cache = new LocalArchiveStore(join(dir, 'cache'));
  const artifacts = new LocalArchiveStore(join(dir, 'artifacts'));
  const stageCommand = shellCommand('sh').command;

  const stageStart = async (): Promise<number> => {
    const t0 = process.hrtime.bigint();
    const acq = await ts.acquire(`stage-${nextJob++}`);
    try {
      const conn = await connector.connect(acq.connectInfo);
      let first: bigint | undefined;
      await conn.exec(stageCommand, { stdin: `echo ${USER_LINE}\n`, onStdout: () => (first ??= process.hrtime.bigint()) });
      if (first === undefined) throw new Error('the stage printed nothing');
      return ms(t0, first);
    } finally {
      acq.release();
    }
  };

  const fullJob = async (): Promise<JobTimes> => {
    const p = payload();
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const acq = await ts.acquire(`job-${p.id}`);
    try {
      const conn = new FirstByteConnection(await connector.connect(acq.connectInfo));
      let text = '';
      let userLine: bigint | undefined;
      const res = await runJob({
        payload: p,
        connection: conn,
        instanceId: acq.instanceId,
        slot: acq.slot,
        concurrentId: 0,
        concurrentProjectId: 0,
        settings: SETTINGS,
        log: {
          write: (c) => {
            if (TRACE) console.error(`${ms(t0, process.hrtime.bigint()).toFixed(1)} ms ${JSON.stringify(c.toString().slice(0, 70))}`);
            text += c.toString();
            if (userLine === undefined && text.includes(`\n${USER_LINE}\n`)) userLine = process.hrtime.bigint();
          },
        },
        artifacts: new LocalArtifactBackend(artifacts, p.id),
        cache,
        clock: systemClock,
        lostSignal: acq.signal,
      });
      if (res.status !== 'success' || conn.firstStdout === undefined || userLine === undefined) throw new Error(`bench job ${res.status}: ${res.message ?? ''}\n${text}`);
      const cpu = process.cpuUsage(cpu0);
      return { firstByte: ms(t0, conn.firstStdout), userLine: ms(t0, userLine), execs: conn.execs, cpuS: (cpu.user + cpu.system) / 1e6 };
    } finally {
      acq.release();
    }
  };

  const stop = async (): Promise<void> => {
    try {
      await ts.shutdown();
    } finally {
      connector.shutdown();
      await plugin.stop();
    }
  };
  try {
    // Warm: the instance runs, the connection is open and both paths have run once.
    await stageStart();
    await fullJob();
  } catch (err) {
    await stop();
    throw err;
  }
  return { stageStart, fullJob, stop };
}
