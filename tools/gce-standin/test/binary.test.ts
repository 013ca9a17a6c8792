import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { refusedCommandLine, refuses, spawnStandin } from '@fleetrunner/standin-kit';
import { waitFor } from '@fleetrunner/testing';
import { SSH_PORT, WHERE, subnets } from './harness.js';
import { InstanceGroupManagersClient } from '@google-cloud/compute/build/src/v1/instance_group_managers_client.js';
import { GoogleAuth } from 'google-auth-library';

const BIN = fileURLToPath(new URL('../../bin/gce-standin.js', import.meta.url));

t.test('gce-standin prints its endpoint and the environment a client needs, serves the SDK, and cleans up on SIGTERM', async (t) => {
  const n = subnets(52);
  const child = await spawnStandin(t, BIN, ['--group', 'ci,max=2', '--subnet', n.subnet!, '--public-subnet', n.publicSubnet!, '--machine-subnet', n.machineSubnet!, '--ssh-port', String(SSH_PORT), '--log-level', 'warn'], 2);
  const { endpoint, env } = child;
  t.match(endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
  t.equal(env.CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE, `${endpoint}/compute/v1/`);
  const keyFile = env.GOOGLE_APPLICATION_CREDENTIALS!;
  t.match(JSON.parse(readFileSync(keyFile, 'utf8')), { type: 'service_account', client_email: /@fleetrunner-test\.iam\.gserviceaccount\.com$/ });
  // Application Default Credentials from the printed environment, as a client would pick them up.
  process.env.GOOGLE_APPLICATION_CREDENTIALS = keyFile;
  const auth = new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/compute'] });
  auth.useJWTAccessWithScope = true;
  const url = new URL(endpoint);
  const igm = new InstanceGroupManagersClient({ apiEndpoint: url.hostname, port: Number(url.port), protocol: 'http', auth });
  await igm.resize({ ...WHERE, instanceGroupManager: 'ci', size: 2 });
  await waitFor(async () => (await igm.listManagedInstances({ ...WHERE, instanceGroupManager: 'ci' }, { autoPaginate: false }))[0].filter((m) => m.instanceStatus === 'RUNNING').length === 2, {
    what: 'two instances running',
  });
  const state = (await (await fetch(`${endpoint}/_standin/state`)).json()) as { groups: { instances: { privateIp: string }[] }[] };
  const ips = state.groups[0]!.instances.map((i) => i.privateIp);
  t.equal(await child.terminate(), 0, 'a clean exit');
  for (const ip of ips) t.ok(await refuses(`http://${ip}:${SSH_PORT}`), `${ip} no longer answers`);
  t.throws(() => readFileSync(keyFile), /ENOENT/, 'the key file is removed');
  t.equal(child.stderr(), '', 'nothing logged at warn or above');
});

t.test('a bad command line exits 2 with the usage', async (t) => {
  const { code, stderr } = await refusedCommandLine(BIN, ['--group', 'x,colour=red']);
  t.equal(code, 2);
  t.match(stderr, /unknown setting "colour=red"[\s\S]*Usage: gce-standin/);
});
