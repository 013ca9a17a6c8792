// What the cloud plugins' release tests share: release the plugin as one bundle to a registry, install it with
// `runner fleeting install`, and run the example pipeline's build and package jobs with `runner exec` against the
// cloud's stand-in, with no node_modules anywhere above the installed plugin.
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Test } from 'tap';
import { EXAMPLE_PIPELINE, REPO_ROOT, RUNNER_BIN, startRegistry, tmpDir, waitFor } from '@fleetrunner/testing';
import { releasePlugin } from '../src/index.js';

/** Instances listen on port 22 as root; elsewhere on an unprivileged port. */
export const SSH_PORT = process.getuid?.() === 0 ? 22 : 10022;

function runner(t: Test, args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  // tap hands its module hooks to every child through NODE_OPTIONS (re-added at spawn), and with them Node loads the
  // extensionless plugin as CommonJS. A runner has no such hooks: the shell drops them before it execs the runner.
  const child = spawn('/bin/sh', ['-c', 'unset NODE_OPTIONS; exec "$0" "$@"', process.execPath, RUNNER_BIN, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, out })));
}

/** A started stand-in, as the release test needs it. */
export interface ReleaseStandin {
  /** What the runner needs in its environment to reach the stand-in. */
  env: Record<string, string>;
  /** TOML lines of plugin_config and connector_config (each line ending in a newline). */
  pluginConfig: string;
  connector: string;
  /** True once no instance and no machine is left. */
  empty(): Promise<boolean>;
}

/** One plugin's release test. */
export interface CloudRelease {
  /** The plugin's directory under plugins/ and its repository name. */
  plugin: string;
  /** Short name in temp dirs and the runner token (`gce`). */
  short: string;
  /** The bundle must be smaller; `why` is added to the size message. */
  maxBytes: number;
  why?: string;
  /** Starts the stand-in (stopped when `t` ends). */
  standin(t: Test): Promise<ReleaseStandin>;
}

/** Releases, installs and runs `spec.plugin` (see the file comment). */
export async function releaseInstallRun(t: Test, spec: CloudRelease): Promise<void> {
  const registry = (await startRegistry(t)).host;
  const out = tmpDir(t, { prefix: `fr-release-${spec.short}` });
  const released = await releasePlugin(join(REPO_ROOT, 'plugins', spec.plugin), { registry, version: '1.2.3', build: false, outDir: out, onStep: (line) => t.comment(line) });
  t.ok(released.bundle.bytes < spec.maxBytes, `the bundle is ${(released.bundle.bytes / 1e6).toFixed(2)} MB${spec.why ? ` (${spec.why})` : ''}`);
  t.same(released.bundle.warnings, [], 'no esbuild warnings');

  const s = await spec.standin(t);
  const dir = tmpDir(t, { prefix: `fr-release-${spec.short}-run` });
  const pluginPath = tmpDir(t, { prefix: `fr-release-${spec.short}-plugins` });
  const config = join(dir, 'config.toml');
  writeFileSync(
    config,
    `concurrent = 2
[[runners]]
name = "${spec.plugin}"
url = "http://localhost"
token = "release-${spec.short}"
executor = "instance"
shell = "bash"
[runners.autoscaler]
plugin = "${registry}/fleetrunner/plugins/${spec.plugin}:1.2"
capacity_per_instance = 2
max_instances = 1
delete_instances_on_shutdown = true
update_interval = "1s"
update_interval_when_expecting = "200ms"
[runners.autoscaler.plugin_config]
${s.pluginConfig}[runners.autoscaler.connector_config]
${s.connector}[runners.autoscaler.state_storage]
enabled = false
[[runners.autoscaler.policy]]
idle_count = 0
idle_time = "30s"
`,
  );
  const env = { ...s.env, FLEETING_PLUGIN_PATH: pluginPath, XDG_CACHE_HOME: join(dir, 'cache') };
  const installed = await runner(t, ['fleeting', 'install', '--config', config], env);
  t.equal(installed.code, 0, installed.out);
  t.match(installed.out, new RegExp(`${spec.plugin}.*1\\.2\\.3`));
  for (let d = pluginPath; dirname(d) !== d; d = dirname(d)) t.notOk(existsSync(join(d, 'node_modules')), `no node_modules in ${d}`);

  const r = await runner(t, ['exec', '--config', config, '--file', EXAMPLE_PIPELINE, 'build', 'package'], env);
  t.equal(r.code, 0, r.code === 0 ? 'exit 0' : r.out.slice(-3000));
  t.match(r.out, /pipeline success/);
  await waitFor(() => s.empty(), { what: 'no instance left' });
}
