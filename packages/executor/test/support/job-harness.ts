import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock, type Clock } from '@fleetrunner/common';
import { SshConnector, type Connection } from '@fleetrunner/connector';
import { defaultConnectorConfig } from '@fleetrunner/fleeting';
import { parseJobPayload, type JobPayload } from '@fleetrunner/gitlab';
import { ensureShUser, startSshd, type SshdHandle } from '@fleetrunner/testing';
import { LocalArchiveStore, LocalArtifactBackend, runJob, type JobContext, type JobResult } from '../../src/index.js';

export const SH_USER = 'fr-executor';

/** A real OpenSSH instance for a /bin/sh user, with a connection through our connector. */
export interface TestInstance {
  sshd: SshdHandle;
  connector: SshConnector;
  connection: Connection;
  home: string;
  stop(): Promise<void>;
}

/** `host`: the loopback address sshd listens on (default 127.0.0.1). */
export async function startInstance(id = 'inst-1', host?: string): Promise<TestInstance> {
  const user = await ensureShUser(SH_USER);
  const sshd = await startSshd({ user: user.name, options: ['MaxSessions=20'], ...(host !== undefined ? { host } : {}) });
  const connector = new SshConnector();
  const connection = await connector.connect({
    ...defaultConnectorConfig(),
    id,
    internalAddr: sshd.host,
    externalAddr: '',
    protocolPort: sshd.port,
    username: user.name,
    key: Buffer.from(sshd.clientKey),
  });
  return {
    sshd,
    connector,
    connection,
    home: user.home,
    stop: async () => {
      connector.shutdown();
      await sshd.stop();
    },
  };
}

let nextJobId = 1000;

/** A job payload as GitLab sends it (wire JSON run through the real validator). */
export function payload(wire: Record<string, unknown> = {}): JobPayload {
  const id = (wire.id as number | undefined) ?? nextJobId++;
  return parseJobPayload({
    id,
    token: `jobtoken-${id}`,
    allow_git_fetch: true,
    job_info: { name: `job-${id}`, stage: 'test', project_id: 7, project_full_path: 'group/project', project_name: 'project' },
    git_info: { repo_url: 'https://gitlab-ci-token:jobtoken@gitlab.example.com/group/project.git', ref: 'main', sha: '0'.repeat(40), before_sha: '0'.repeat(40), ref_type: 'branch', refspecs: [], depth: 0 },
    runner_info: { timeout: 3600 },
    features: { trace_sections: true, failure_reasons: ['script_failure', 'job_execution_timeout', 'runner_system_failure'] },
    ...wire,
    variables: [{ key: 'GIT_STRATEGY', value: 'none', public: true }, ...((wire.variables as unknown[] | undefined) ?? [])],
  });
}

export function step(script: string[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'script', script, timeout: 0, when: 'on_success', allow_failure: false, ...extra };
}

export function afterScript(script: string[]): Record<string, unknown> {
  return { name: 'after_script', script, timeout: 0, when: 'always', allow_failure: false };
}

/** Manager-side stores in a temp dir. */
export function stores(): { dir: string; cache: LocalArchiveStore; artifacts: LocalArchiveStore; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'executor-stores-'));
  return {
    dir,
    cache: new LocalArchiveStore(join(dir, 'cache')),
    artifacts: new LocalArchiveStore(join(dir, 'artifacts')),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Collects the job log; resolves waiters when a text appears. */
export class LogCapture {
  text = '';
  private waiters: { needle: RegExp; resolve: (m: RegExpExecArray) => void }[] = [];
  write(chunk: string | Buffer): void {
    this.text += chunk.toString();
    this.waiters = this.waiters.filter((w) => {
      const m = w.needle.exec(this.text);
      if (!m) return true;
      w.resolve(m);
      return false;
    });
  }
  /** Resolves with the first match of `needle` (a regex, so that the echoed command line cannot match). */
  waitFor(needle: RegExp): Promise<RegExpExecArray> {
    const m = needle.exec(this.text);
    if (m) return Promise.resolve(m);
    return new Promise((resolve) => this.waiters.push({ needle, resolve }));
  }
}

export interface RunOptions {
  clock?: Clock;
  log?: LogCapture;
  shell?: 'bash' | 'sh';
  abortSignal?: AbortSignal;
  cancelSignal?: AbortSignal;
  lostSignal?: AbortSignal;
  slot?: number;
  settings?: Partial<JobContext['settings']>;
}

export async function run(inst: TestInstance, st: ReturnType<typeof stores>, p: JobPayload, o: RunOptions = {}): Promise<JobResult & { log: LogCapture }> {
  const log = o.log ?? new LogCapture();
  const result = await runJob({
    payload: p,
    connection: inst.connection,
    instanceId: 'inst-1',
    slot: o.slot ?? 0,
    concurrentId: 0,
    concurrentProjectId: 0,
    settings: { shell: o.shell ?? 'sh', shortToken: 'abcd1234', managerHostname: 'manager', runnerVersion: { version: '0.1.0', revision: 'test' }, killGraceMs: 1000, ...o.settings },
    log,
    artifacts: new LocalArtifactBackend(st.artifacts, p.id),
    cache: st.cache,
    clock: o.clock ?? systemClock,
    ...(o.abortSignal ? { abortSignal: o.abortSignal } : {}),
    ...(o.cancelSignal ? { cancelSignal: o.cancelSignal } : {}),
    ...(o.lostSignal ? { lostSignal: o.lostSignal } : {}),
  });
  return { ...result, log };
}

/** True when a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
