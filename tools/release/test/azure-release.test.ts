// plugins/azure released as one bundle, installed with `runner fleeting install` from a registry, and run by
// `runner exec` against the Azure stand-in (HTTPS, its CA through NODE_EXTRA_CA_CERTS) with no node_modules above it.
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { createLogger, textSink } from '@fleetrunner/common';
import { startAzureStandin } from '@fleetrunner/azure-standin';
import { tmpDir, waitFor } from '@fleetrunner/testing';
import { releasePlugin } from '../src/index.js';
import { startRegistry } from './registry.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const RUNNER = join(ROOT, 'packages', 'cli', 'bin', 'runner.js');
const PLUGIN_DIR = join(ROOT, 'plugins', 'azure');
const SSH_PORT = process.getuid?.() === 0 ? 22 : 10022;
// This file's loopback subnets (127.89.x is the azure plugin's range).
const N = 40;

function runner(t: Test, args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  // tap's module hooks travel in NODE_OPTIONS; a runner has none (see googlecloud-release.test.ts).
  const child = spawn('/bin/sh', ['-c', 'unset NODE_OPTIONS; exec "$0" "$@"', process.execPath, RUNNER, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, out })));
}

t.test('plugins/azure: one bundle under 5 MB, installed by runner fleeting install, runs the pipeline with password logins', async (t) => {
  const registry = await startRegistry(t);
  const out = tmpDir(t, { prefix: 'fr-release-azure' });
  const released = await releasePlugin(PLUGIN_DIR, { registry, version: '1.2.3', build: false, outDir: out, onStep: (line) => t.comment(line) });
  t.ok(released.bundle.bytes < 5_000_000, `the bundle is ${(released.bundle.bytes / 1e6).toFixed(2)} MB`);
  t.same(released.bundle.warnings, [], 'no esbuild warnings');

  const s = await startAzureStandin({
    subnet: `127.89.${N}.0/24`,
    publicSubnet: `127.89.${64 + N}.0/24`,
    machineSubnet: `127.89.${128 + N}.0/24`,
    sshPort: SSH_PORT,
    scaleSets: [{ name: 'runners', quota: 2, adminUsername: 'runner', adminPassword: 'release-Passw0rd' }],
    logger: createLogger({ level: 'warn', sink: textSink(process.stderr) }),
  });
  t.teardown(() => s.stop());
  const dir = tmpDir(t, { prefix: 'fr-release-azure-run' });
  const pluginPath = tmpDir(t, { prefix: 'fr-release-azure-plugins' });
  const config = join(dir, 'config.toml');
  writeFileSync(
    config,
    `concurrent = 2
[[runners]]
name = "azure"
url = "http://localhost"
token = "release-azure"
executor = "instance"
shell = "bash"
[runners.autoscaler]
plugin = "${registry}/fleetrunner/plugins/azure:1.2"
capacity_per_instance = 2
max_instances = 1
delete_instances_on_shutdown = true
update_interval = "1s"
update_interval_when_expecting = "200ms"
[runners.autoscaler.plugin_config]
name = "runners"
subscription_id = "${s.subscriptionId}"
resource_group_name = "${s.resourceGroup}"
[runners.autoscaler.connector_config]
username = "runner"
password = "release-Passw0rd"
use_static_credentials = true
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
  t.match(installed.out, /azure.*1\.2\.3/);
  for (let d = pluginPath; dirname(d) !== d; d = dirname(d)) t.notOk(existsSync(join(d, 'node_modules')), `no node_modules in ${d}`);

  const r = await runner(t, ['exec', '--config', config, '--file', join(ROOT, 'examples', 'pipeline', '.gitlab-ci.yml'), 'build', 'package'], env);
  t.equal(r.code, 0, r.code === 0 ? 'exit 0' : r.out.slice(-3000));
  t.match(r.out, /pipeline success/);
  await waitFor(async () => s.cloud.scaleSet(s.resourceGroup, 'runners').vms.length === 0 && (await s.cloud.options.backend.states()).size === 0, { what: 'the scale set empty again' });
});
