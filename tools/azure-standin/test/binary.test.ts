import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { ComputeManagementClient } from '@azure/arm-compute';
import { ClientSecretCredential } from '@azure/identity';
import { refusedCommandLine, spawnStandin } from '@fleetrunner/standin-kit';
import { waitFor } from '@fleetrunner/testing';
import { parseStandinArgs } from '../src/index.js';
import { SSH_PORT, subnets } from './harness.js';

const BIN = fileURLToPath(new URL('../../bin/azure-standin.js', import.meta.url));

t.test('azure-standin prints its endpoint and the environment a client needs, serves the SDK over TLS, and cleans up on SIGTERM', async (t) => {
  const n = subnets(52);
  const args = ['--group', 'ci,max=2,user=runner,password=Passw0rd-1', '--subnet', n.subnet!, '--public-subnet', n.publicSubnet!, '--machine-subnet', n.machineSubnet!];
  const child = await spawnStandin(t, BIN, [...args, '--ssh-port', String(SSH_PORT), '--log-level', 'warn'], 6);
  const { env } = child;
  const endpoint = child.endpoint;
  t.match(endpoint, /^https:\/\/127\.0\.0\.1:\d+$/);
  t.same(Object.keys(env).sort(), ['AZURE_AUTHORITY_HOST', 'AZURE_CLIENT_ID', 'AZURE_CLIENT_SECRET', 'AZURE_RESOURCE_MANAGER_ENDPOINT', 'AZURE_TENANT_ID', 'NODE_EXTRA_CA_CERTS']);
  t.equal(env.AZURE_RESOURCE_MANAGER_ENDPOINT, endpoint);
  t.equal(env.AZURE_AUTHORITY_HOST, endpoint);
  const ca = readFileSync(env.NODE_EXTRA_CA_CERTS!, 'utf8');
  t.match(ca, /^-----BEGIN CERTIFICATE-----/);
  const tlsOptions = { ca: [ca] };
  const credential = new ClientSecretCredential(env.AZURE_TENANT_ID!, env.AZURE_CLIENT_ID!, env.AZURE_CLIENT_SECRET!, { authorityHost: endpoint, disableInstanceDiscovery: true, tlsOptions });
  const compute = new ComputeManagementClient(credential, '9b3c4602-cde2-4089-bed8-889e5a3e7102', { endpoint, tlsOptions, retryOptions: { maxRetries: 0 } });
  await compute.virtualMachineScaleSets.update('fleetrunner-test', 'ci', { sku: { capacity: 2 } }, { updateIntervalInMs: 20 });
  await waitFor(async () => {
    let running = 0;
    for await (const vm of compute.virtualMachineScaleSetVMs.list('fleetrunner-test', 'ci', { expand: 'instanceView' })) if (vm.instanceView?.statuses?.some((s) => s.code === 'PowerState/running')) running++;
    return running === 2;
  }, { what: 'two VMs running' });
  const state = (await (await fetch(`${endpoint}/_standin/state`).catch(() => undefined))?.json().catch(() => undefined)) as unknown;
  t.equal(state, undefined, 'plain fetch without the CA is refused (TLS is real)');
  t.equal(await child.terminate(), 0, 'a clean exit');
  t.throws(() => readFileSync(env.NODE_EXTRA_CA_CERTS!), /ENOENT/, 'the CA files are removed');
  t.equal(child.stderr(), '', 'nothing logged at warn or above');
});

t.test('the command line: scale sets with users, passwords, faults; bad settings exit 2 with the usage', async (t) => {
  const { options } = parseStandinArgs(['--group', 'a,max=3,user=u,password=p=w,boot-delay=50,no-public-ip', '--group', 'b,flexible,os=windows', '--throttle', 'every=3,status=503,retry-after=2,operations=virtualMachineScaleSets.update']);
  t.match(options.scaleSets, [{ name: 'a', quota: 3, adminUsername: 'u', adminPassword: 'p=w', bootDelayMs: 50, publicIp: false }, { name: 'b', orchestrationMode: 'Flexible', osType: 'Windows' }]);
  t.same(options.throttle, [{ every: 3, status: 503, retryAfterSeconds: 2, actions: ['virtualMachineScaleSets.update'] }]);
  const { code, stderr } = await refusedCommandLine(BIN, ['--group', 'x,colour=red']);
  t.equal(code, 2);
  t.match(stderr, /unknown setting "colour=red"[\s\S]*Usage: azure-standin/);
});
