import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import { createLogger, textSink } from '@fleetrunner/common';
import { defaultConnectorConfig, runConformance, runPlugin } from '@fleetrunner/fleeting';
import { waitFor } from '@fleetrunner/testing';
import { pluginConfig, scaleSet, standin, staticConnector } from './harness.js';

const BIN = fileURLToPath(new URL('../../bin/plugin.js', import.meta.url));
const N = 30;

t.test('conformance suite passes against the plugin binary (the CA through NODE_EXTRA_CA_CERTS)', async (t) => {
  const s = await standin(t, N, { scaleSets: [scaleSet('runners', { quota: 4 })] });
  const p = await runPlugin(BIN, { name: 'azure', env: s.env });
  t.teardown(() => p.stop());
  const report = await runConformance(p.group, { pluginConfig: pluginConfig(s), connector: staticConnector(), timeoutMs: 30_000, pollIntervalMs: 50 });
  for (const c of report.checks) t.not(c.status, 'fail', `${c.name}: ${c.detail}`);
  t.ok(report.passed);
});

t.test('init over the wire: workload identity and managed identity, unknown keys warned about, errors naming the key', async (t) => {
  const s = await standin(t, N + 1, { scaleSets: [scaleSet('runners')] });
  let logged = '';
  const logger = createLogger({ level: 'warn', sink: textSink({ write: (line: string) => (logged += line) }) });
  const start = async (env: Record<string, string | undefined>) => {
    const p = await runPlugin(BIN, { name: 'azure', env, logger });
    t.teardown(() => p.stop());
    return p.group;
  };
  const connector = defaultConnectorConfig(staticConnector());
  const sp = await start(s.env);
  t.match(await sp.init({ pluginConfig: { ...pluginConfig(s), tenant_id: 'x' }, connector }), { id: `azure/${s.subscriptionId}/fleetrunner-test/runners` });
  await waitFor(() => logged.includes('plugin_config.tenant_id: unknown key, ignored (expected one of name, subscription_id, resource_group_name)'), { what: 'the warning in the plugin log' });

  // Workload identity (AKS): a federated token file instead of a secret.
  const wi = await start({ ...s.env, AZURE_CLIENT_SECRET: undefined, AZURE_FEDERATED_TOKEN_FILE: s.federatedTokenFile });
  t.match(await wi.init({ pluginConfig: pluginConfig(s), connector }), { id: /runners$/ }, 'workload identity');
  t.same(await wi.update(), []);
  // A managed identity (App Service / Container Apps style endpoint).
  const mi = await start({ ...s.env, AZURE_CLIENT_ID: undefined, AZURE_CLIENT_SECRET: undefined, AZURE_TENANT_ID: undefined, IDENTITY_ENDPOINT: s.identityEndpoint, IDENTITY_HEADER: s.directory.identityHeader });
  t.match(await mi.init({ pluginConfig: pluginConfig(s), connector }), { id: /runners$/ }, 'managed identity');

  const bad = await start(s.env);
  await t.rejects(bad.init({ pluginConfig: pluginConfig(s, { subscription_id: 5 }), connector }), { code: 'invalid_argument', message: /plugin_config\.subscription_id: expected a non-empty string, got 5/ });
});

t.test('-version prints the version block', async (t) => {
  const { stdout } = await promisify(execFile)(process.execPath, [BIN, '-version']);
  t.match(stdout, /^Name:\s+fleeting-plugin-azure\nVersion:\s+\d+\.\d+\.\d+/);
});
