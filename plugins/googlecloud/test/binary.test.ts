import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import { createLogger, textSink } from '@fleetrunner/common';
import { defaultConnectorConfig, runConformance, runPlugin } from '@fleetrunner/fleeting';
import { waitFor } from '@fleetrunner/testing';
import { SSH_PORT, pluginConfig, standin } from './harness.js';

const BIN = fileURLToPath(new URL('../../bin/plugin.js', import.meta.url));
const N = 30;

t.test('conformance suite passes against the plugin binary', async (t) => {
  const s = await standin(t, N, { groups: [{ name: 'runners', quota: 4 }] });
  const p = await runPlugin(BIN, { name: 'googlecloud', env: s.env });
  t.teardown(() => p.stop());
  const report = await runConformance(p.group, { pluginConfig: pluginConfig(s), connector: { protocolPort: SSH_PORT }, timeoutMs: 30_000, pollIntervalMs: 50 });
  for (const c of report.checks) t.not(c.status, 'fail', `${c.name}: ${c.detail}`);
  t.ok(report.passed);
});

t.test('init over the wire: Application Default Credentials, unknown keys warned about, errors naming the key', async (t) => {
  const s = await standin(t, N + 1, { groups: [{ name: 'runners' }] });
  let logged = '';
  const logger = createLogger({ level: 'warn', sink: textSink({ write: (line: string) => (logged += line) }) });
  const start = async (env: Record<string, string | undefined>) => {
    const p = await runPlugin(BIN, { name: 'googlecloud', env, logger });
    t.teardown(() => p.stop());
    return p.group;
  };
  // No credentials_file: GOOGLE_APPLICATION_CREDENTIALS (Application Default Credentials) is used.
  const adc = await start(s.env);
  t.match(await adc.init({ pluginConfig: { ...pluginConfig(s), credentials_file: undefined, use_os_login: true }, connector: defaultConnectorConfig() }), { id: 'gcp/fleetrunner-test/us-central1-a/runners' });
  await waitFor(() => logged.includes('plugin_config.use_os_login: unknown key, ignored'), { what: 'the warning in the plugin log' });

  const home = (await import('node:os')).tmpdir();
  const none = await start({ ...s.env, GOOGLE_APPLICATION_CREDENTIALS: undefined, HOME: home, GCE_METADATA_HOST: '127.0.0.1:9' });
  await t.rejects(none.init({ pluginConfig: { ...pluginConfig(s), credentials_file: undefined }, connector: defaultConnectorConfig() }), {
    message: /initializing: loading credentials: Could not load the default credentials.*\(credentials from Application Default Credentials \(plugin_config\.credentials_file is not set/,
  });
  // On a VM (or GKE with Workload Identity): no file at all, the metadata server's token.
  const vm = await start({ ...s.env, GOOGLE_APPLICATION_CREDENTIALS: undefined, HOME: home, GCE_METADATA_HOST: s.metadataHost });
  t.match(await vm.init({ pluginConfig: { ...pluginConfig(s), credentials_file: undefined }, connector: defaultConnectorConfig() }), { id: 'gcp/fleetrunner-test/us-central1-a/runners' }, 'metadata server credentials');
  t.same(await vm.update(), []);
  const bad = await start(s.env);
  await t.rejects(bad.init({ pluginConfig: pluginConfig(s, { zone: 'europe-west1' }), connector: defaultConnectorConfig() }), { code: 'invalid_argument', message: /plugin_config\.zone: expected a zone/ });
});

t.test('-version prints the version block', async (t) => {
  const { stdout } = await promisify(execFile)(process.execPath, [BIN, '-version']);
  t.match(stdout, /^Name:\s+fleeting-plugin-googlecloud\nVersion:\s+\d+\.\d+\.\d+/);
});
