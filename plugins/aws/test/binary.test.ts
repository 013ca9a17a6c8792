import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import { createLogger, textSink } from '@fleetrunner/common';
import { defaultConnectorConfig, runConformance, runPlugin } from '@fleetrunner/fleeting';
import { waitFor } from '@fleetrunner/testing';
import { SSH_PORT, standin } from './harness.js';

const BIN = fileURLToPath(new URL('../../bin/plugin.js', import.meta.url));
const N = 80;

t.test('conformance suite passes against the plugin binary', async (t) => {
  const s = await standin(t, N, { groups: [{ name: 'runners', maxSize: 4 }] });
  const p = await runPlugin(BIN, { name: 'aws', env: { AWS_ENDPOINT_URL: s.endpoint } });
  t.teardown(() => p.stop());
  const report = await runConformance(p.group, { pluginConfig: { name: 'runners', region: 'us-east-1' }, connector: { protocolPort: SSH_PORT }, timeoutMs: 30_000, pollIntervalMs: 50 });
  for (const c of report.checks) t.not(c.status, 'fail', `${c.name}: ${c.detail}`);
  t.ok(report.passed);
});

t.test('init over the wire: no credentials, a profile from credentials_file, unknown keys', async (t) => {
  const s = await standin(t, N + 1, { groups: [{ name: 'runners' }], credentials: [{ accessKeyId: 'AKIDFROMFILE', secretAccessKey: 'file-secret' }] });
  const home = mkdtempSync(join(tmpdir(), 'aws-home-'));
  t.teardown(() => rmSync(home, { recursive: true, force: true }));
  // Nothing in the environment, no ~/.aws, no instance metadata: the SDK has nowhere to find credentials.
  const bare = { AWS_ENDPOINT_URL: s.endpoint, HOME: home, AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined, AWS_PROFILE: undefined, AWS_REGION: undefined };
  const start = async (env: Record<string, string | undefined>) => {
    const p = await runPlugin(BIN, { name: 'aws', env });
    t.teardown(() => p.stop());
    return p.group;
  };
  // The message is the contract over the wire (the host's transport keeps only some codes; auth_failed is not one).
  await t.rejects(start(bare).then((g) => g.init({ pluginConfig: { name: 'runners', region: 'us-east-1' }, connector: defaultConnectorConfig() })), {
    message: /initializing: describing auto scaling group: CredentialsProviderError: Could not load credentials from any providers \(set AWS_ACCESS_KEY_ID/,
  });

  const creds = join(home, 'creds');
  writeFileSync(creds, '[default]\naws_access_key_id = AKIDWRONG\naws_secret_access_key = nope\n\n[ci]\naws_access_key_id = AKIDFROMFILE\naws_secret_access_key = file-secret\n');
  await t.rejects(start(bare).then((g) => g.init({ pluginConfig: { name: 'runners', region: 'us-east-1', credentials_file: creds }, connector: defaultConnectorConfig() })), {
    message: /describing auto scaling group: InvalidClientTokenId: The security token included in the request is invalid/,
  }, 'the default profile of credentials_file is used and refused');
  const g = await start(bare);
  t.match(await g.init({ pluginConfig: { name: 'runners', region: 'us-east-1', credentials_file: creds, profile: 'ci' }, connector: defaultConnectorConfig() }), { id: 'aws/us-east-1/runners' });

});

t.test('init over the wire: an unknown plugin_config key is a warning, as in Go plugins, not a failure', async (t) => {
  const s = await standin(t, N + 2, { groups: [{ name: 'runners' }] });
  let logged = '';
  const logger = createLogger({ level: 'warn', sink: textSink({ write: (line: string) => (logged += line) }) });
  const p = await runPlugin(BIN, { name: 'aws', env: { AWS_ENDPOINT_URL: s.endpoint }, logger });
  t.teardown(() => p.stop());
  t.match(await p.group.init({ pluginConfig: { name: 'runners', region: 'us-east-1', endpoint: 'http://x' }, connector: defaultConnectorConfig() }), { id: 'aws/us-east-1/runners' });
  await waitFor(() => logged.includes('plugin_config.endpoint: unknown key, ignored'), { what: 'the warning in the plugin log' });
  t.match(logged, /WARN\s+plugin_config\.endpoint: unknown key, ignored \(expected one of name, region, profile, config_file, credentials_file\)/);
});

t.test('-version prints the version block', async (t) => {
  const { stdout } = await promisify(execFile)(process.execPath, [BIN, '-version']);
  t.match(stdout, /^Name:\s+fleeting-plugin-aws\nVersion:\s+\d+\.\d+\.\d+/);
});
