// plugins/azure against the Azure stand-in: time from Increase to a running instance (the capacity PATCH and its
// asynchronous operation polled by the SDK, the machine's boot, the VMs list with instance view), and the plugin's
// RPC round trips through its real process (update with N instances, heartbeat, connect info once the addresses are
// read) beside the same calls in process. Needs root (VMs serve SSH on port 22). Loopback subnets 127.89.60 (+64, +128).
import { rootCertificates } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { createLogger, textSink } from '@fleetrunner/common';
import { defaultConnectorConfig } from '@fleetrunner/fleeting';
import { startAzureStandin } from '@fleetrunner/azure-standin';
import { AzureInstanceGroup } from '@fleetrunner/plugin-azure';
import { benchCloudPlugin } from './cloud-plugin.js';

const INSTANCES = 4;

const s = await startAzureStandin({
  subnet: '127.89.60.0/24',
  publicSubnet: '127.89.124.0/24',
  machineSubnet: '127.89.188.0/24',
  sshPort: 22,
  scaleSets: [{ name: 'runners', quota: INSTANCES + 1, adminUsername: 'runner', adminPassword: 'bench-Passw0rd' }],
  logger: createLogger({ level: 'warn', sink: textSink(process.stderr) }),
});
Object.assign(process.env, s.env);
await benchCloudPlugin({
  bin: fileURLToPath(new URL('../../../../plugins/azure/bin/plugin.js', import.meta.url)),
  name: 'azure',
  env: s.env,
  inproc: new AzureInstanceGroup({ ca: [...rootCertificates, s.caPem] }),
  init: {
    pluginConfig: { name: 'runners', subscription_id: s.subscriptionId, resource_group_name: s.resourceGroup },
    connector: defaultConnectorConfig({ username: 'runner', password: 'bench-Passw0rd', useStaticCredentials: true }),
  },
  instances: INSTANCES,
  calls: Number(process.env.BENCH_CALLS ?? 300),
  connectInfo: 'addresses read',
  title: 'azure plugin against the Azure stand-in',
  stop: () => s.stop(),
});
