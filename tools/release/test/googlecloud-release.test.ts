// plugins/googlecloud released as one bundle, installed with `runner fleeting install` from a registry, and run by
// `runner exec` against the GCE stand-in with no node_modules anywhere above it.
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { createLogger, textSink } from '@fleetrunner/common';
import { startGceStandin } from '@fleetrunner/gce-standin';
import { tmpDir, waitFor } from '@fleetrunner/testing';
import { releasePlugin } from '../src/index.js';
import { startRegistry } from './registry.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const RUNNER = join(ROOT, 'packages', 'cli', 'bin', 'runner.js');
const PLUGIN_DIR = join(ROOT, 'plugins', 'googlecloud');
const SSH_PORT = process.getuid?.() === 0 ? 22 : 10022;
// This file's loopback subnets (127.86.x is the googlecloud plugin's range).
const N = 40;

function runner(t: Test, args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  // tap hands its module hooks to every child through NODE_OPTIONS (re-added at spawn), and with them Node loads the
  // extensionless plugin as CommonJS. A runner has no such hooks: the shell drops them before it execs the runner.
  const child = spawn('/bin/sh', ['-c', 'unset NODE_OPTIONS; exec "$0" "$@"', process.execPath, RUNNER, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, out })));
}

t.test('plugins/googlecloud: one bundle under 7 MB, installed by runner fleeting install, runs the pipeline', async (t) => {
  const registry = await startRegistry(t);
  const out = tmpDir(t, { prefix: 'fr-release-gce' });
  const released = await releasePlugin(PLUGIN_DIR, { registry, version: '1.2.3', build: false, outDir: out, onStep: (line) => t.comment(line) });
  t.ok(released.bundle.bytes < 7_000_000, `the bundle is ${(released.bundle.bytes / 1e6).toFixed(2)} MB (deep imports of three clients, not the package root's 72 MB)`);
  t.same(released.bundle.warnings, [], 'no esbuild warnings');

  const s = await startGceStandin({
    subnet: `127.86.${N}.0/24`,
    publicSubnet: `127.86.${64 + N}.0/24`,
    machineSubnet: `127.86.${128 + N}.0/24`,
    sshPort: SSH_PORT,
    groups: [{ name: 'runners', quota: 2 }],
    logger: createLogger({ level: 'warn', sink: textSink(process.stderr) }),
  });
  t.teardown(() => s.stop());
  const dir = tmpDir(t, { prefix: 'fr-release-gce-run' });
  const pluginPath = tmpDir(t, { prefix: 'fr-release-gce-plugins' });
  const config = join(dir, 'config.toml');
  writeFileSync(
    config,
    `concurrent = 2
[[runners]]
name = "googlecloud"
url = "http://localhost"
token = "release-gce"
executor = "instance"
shell = "bash"
[runners.autoscaler]
plugin = "${registry}/fleetrunner/plugins/googlecloud:1.2"
capacity_per_instance = 2
max_instances = 1
delete_instances_on_shutdown = true
update_interval = "1s"
update_interval_when_expecting = "200ms"
[runners.autoscaler.plugin_config]
name = "runners"
project = "fleetrunner-test"
zone = "us-central1-a"
[runners.autoscaler.connector_config]
protocol_port = ${SSH_PORT}
[runners.autoscaler.state_storage]
enabled = false
[[runners.autoscaler.policy]]
idle_count = 0
idle_time = "30s"
`,
  );
  const env = { ...s.env, FLEETING_PLUGIN_PATH: pluginPath, XDG_CACHE_HOME: join(dir, 'cache') };
  const installed = await runner(t, ['fleeting', 'install', '--config', config], env);
  t.equal(installed.code, 0, installed.out);
  t.match(installed.out, /googlecloud.*1\.2\.3/);
  for (let d = pluginPath; dirname(d) !== d; d = dirname(d)) t.notOk(existsSync(join(d, 'node_modules')), `no node_modules in ${d}`);

  const r = await runner(t, ['exec', '--config', config, '--file', join(ROOT, 'examples', 'pipeline', '.gitlab-ci.yml'), 'build', 'package'], env);
  t.equal(r.code, 0, r.code === 0 ? 'exit 0' : r.out.slice(-3000));
  t.match(r.out, /pipeline success/);
  await waitFor(async () => (s.cloud.groups.get('us-central1-a/runners')?.instances.length ?? 1) === 0 && (await s.cloud.options.backend.states()).size === 0, { what: 'the group empty again' });
});
