// The `runner` binary as a child process, for tests that drive a plugin through the real command line. The path is
// a file of the repository, not an import: the test kit stays below the CLI.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tmpDir, type Teardownable } from './tmp-dir.js';
import { waitFor } from './wait-for.js';

/** The repository root. */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
/** The `runner` CLI. */
export const RUNNER_BIN = join(REPO_ROOT, 'packages', 'cli', 'bin', 'runner.js');
/** The example pipeline of `npm run demo`. */
export const EXAMPLE_PIPELINE = join(REPO_ROOT, 'examples', 'pipeline', '.gitlab-ci.yml');

/** How a `runner` child ended: its exit code and everything it wrote (stdout and stderr interleaved). */
export interface RunnerRun {
  code: number | null;
  out: string;
}

/** The assertions of a tap `Test` that the checks below use. */
export interface Asserts {
  equal(found: unknown, wanted: unknown, message: string): boolean;
  match(found: unknown, pattern: unknown, message: string): boolean;
  ok(value: unknown, message: string): boolean;
}

/** `runner exec` exited 0 and said "pipeline success" (else the message is the output's tail). */
export function pipelineSucceeded(t: Asserts, r: RunnerRun): void {
  t.equal(r.code, 0, r.code === 0 ? 'exit 0' : r.out.slice(-3000));
  t.match(r.out, /pipeline success/, 'pipeline success');
}

/**
 * The example pipeline's build and package jobs through a throttling storm of the stand-in (`faults`): slower, but
 * green, and the throttled calls were retried.
 */
export async function throttlingStorm(t: Asserts, faults: { throttled: number }, run: (args: string[]) => Promise<RunnerRun>): Promise<void> {
  pipelineSucceeded(t, await run(['--file', EXAMPLE_PIPELINE, 'build', 'package']));
  t.ok(faults.throttled >= 5, `${faults.throttled} calls were throttled and retried`);
}

/** Runs `runner <args>` from the repository root with `env` over this process's; killed when `t` ends. `onOutput` sees the output as it comes. */
export function runRunner(t: Teardownable, args: readonly string[], env: NodeJS.ProcessEnv = {}, onOutput?: (all: string) => void): Promise<RunnerRun> {
  const child = spawn(process.execPath, [RUNNER_BIN, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => child.kill('SIGKILL'));
  let out = '';
  const add = (d: Buffer): void => {
    out += d.toString();
    onOutput?.(out);
  };
  child.stdout.on('data', add);
  child.stderr.on('data', add);
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, out })));
}

/** Runs `runner exec --config <config written to a temp dir> <args>`, with its own cache dir (XDG_CACHE_HOME). */
export function runnerExec(t: Teardownable, spec: { prefix: string; config: string; args: readonly string[]; env?: NodeJS.ProcessEnv; onOutput?: (all: string) => void }): Promise<RunnerRun> {
  const dir = tmpDir(t, { prefix: spec.prefix });
  const file = join(dir, 'config.toml');
  writeFileSync(file, spec.config);
  return runRunner(t, ['exec', '--config', file, ...spec.args], { XDG_CACHE_HOME: join(dir, 'cache'), ...spec.env }, spec.onOutput);
}

/** Runs `runner fleeting conformance <plugin> --config <pluginConfig as JSON> --timeout 60`. */
export function runnerConformance(t: Teardownable, spec: { prefix: string; plugin: string; pluginConfig: Record<string, unknown>; env?: NodeJS.ProcessEnv }): Promise<RunnerRun> {
  const dir = tmpDir(t, { prefix: spec.prefix });
  writeFileSync(join(dir, 'plugin_config.json'), JSON.stringify(spec.pluginConfig));
  return runRunner(t, ['fleeting', 'conformance', spec.plugin, '--config', join(dir, 'plugin_config.json'), '--timeout', '60'], spec.env);
}

/** The parts of a one-runner `config.toml` for the instance executor on a plugin; the rest are fast test settings. */
export interface AutoscalerTomlSpec {
  /** Runner name; the token is `exec-<token ?? name>`. */
  name: string;
  token?: string;
  plugin: string;
  capacity: number;
  maxInstances: number;
  /** TOML lines of `[runners.autoscaler.plugin_config]`, each ending in a newline. */
  pluginConfig: string;
  /** TOML lines of `[runners.autoscaler.connector_config]`, each ending in a newline. */
  connector: string;
}

/** A `config.toml` with one instance runner on `spec.plugin`: deletes its instances on shutdown, no state storage, idle count 0. */
export function autoscalerToml(spec: AutoscalerTomlSpec): string {
  return `concurrent = 4
[[runners]]
name = ${JSON.stringify(spec.name)}
url = "http://localhost"
token = "exec-${spec.token ?? spec.name}"
executor = "instance"
shell = "bash"
[runners.autoscaler]
plugin = ${JSON.stringify(spec.plugin)}
capacity_per_instance = ${spec.capacity}
max_instances = ${spec.maxInstances}
delete_instances_on_shutdown = true
update_interval = "1s"
update_interval_when_expecting = "200ms"
shutdown_deletion_interval = "200ms"
[runners.autoscaler.plugin_config]
${spec.pluginConfig}[runners.autoscaler.connector_config]
${spec.connector}[runners.autoscaler.state_storage]
enabled = false
[[runners.autoscaler.policy]]
idle_count = 0
idle_time = "30s"
`;
}

/** A project whose `victim` job sleeps on its instance while a `bystander` finishes and a `report` job follows. */
export interface VictimProject {
  /** Its `.gitlab-ci.yml`. */
  file: string;
  /** Where the victim leaves its mark (and only it: the directory holds just `victim` afterwards). */
  marks: string;
  /**
   * Starts the pipeline with `run` (given `--file <file>`) and waits until the victim runs; returns the run and the
   * machine of the victim's working directory (`…/instances/<machine>/…`).
   */
  start(run: (args: string[]) => Promise<RunnerRun>): Promise<{ done: Promise<RunnerRun>; machine: string | undefined }>;
  /** Checks that the pipeline failed on the victim only: the bystander and the later report job succeeded. */
  onlyVictimFailed(t: Asserts, r: RunnerRun): void;
}

/** Writes a {@link VictimProject}; `reportTail` is YAML appended after the report job's first script line. */
export function victimProject(t: Teardownable, prefix: string, reportTail = ''): VictimProject {
  const dir = tmpDir(t, { prefix });
  const marks = join(dir, 'marks');
  mkdirSync(marks);
  const file = join(dir, '.gitlab-ci.yml');
  writeFileSync(
    file,
    `stages: [work, after]
victim:
  stage: work
  script:
    - pwd > ${marks}/victim
    - sleep 60
bystander:
  stage: work
  script:
    - echo "bystander done"
report:
  stage: after
  when: always
  script:
    - echo "the manager goes on"
${reportTail}`,
  );
  const victim = join(marks, 'victim');
  return {
    file,
    marks,
    start: async (run) => {
      const done = run(['--file', file]);
      const where = await waitFor(() => (existsSync(victim) ? readFileSync(victim, 'utf8') : ''), { what: 'the victim job to start', timeoutMs: 30_000 });
      return { done, machine: /instances\/([^/]+)\//.exec(where)?.[1] };
    },
    onlyVictimFailed: (t, r) => {
      t.equal(r.code, 1, 'the pipeline fails');
      t.match(r.out, /victim\s+failed/, 'the victim failed');
      t.match(r.out, /bystander\s+success/, 'the bystander succeeded');
      t.match(r.out, /report\s+success/, 'a later job still runs');
    },
  };
}
