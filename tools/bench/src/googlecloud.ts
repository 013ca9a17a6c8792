// plugins/googlecloud against the GCE stand-in: time from Increase to a running instance (resize, the stand-in's
// operation and boot, the plugin's listManagedInstances), and the plugin's RPC round trips through its real process
// (update with N instances, heartbeat, connect info once the key is pushed) beside the same calls in process.
// Needs root (instances serve SSH on port 22). Loopback subnets 127.86.60-62 (+64, +128).
import { fileURLToPath } from 'node:url';
import { createLogger, textSink } from '@fleetrunner/common';
import { defaultConnectorConfig } from '@fleetrunner/fleeting';
import { startGceStandin } from '@fleetrunner/gce-standin';
import { GceInstanceGroup } from '@fleetrunner/plugin-googlecloud';
import { benchCloudPlugin } from './cloud-plugin.js';

const INSTANCES = 4;

const s = await startGceStandin({
  subnet: '127.86.60.0/24',
  publicSubnet: '127.86.124.0/24',
  machineSubnet: '127.86.188.0/24',
  sshPort: 22,
  groups: [{ name: 'runners', quota: INSTANCES + 1 }],
  logger: createLogger({ level: 'warn', sink: textSink(process.stderr) }),
});
await benchCloudPlugin({
  bin: fileURLToPath(new URL('../../../../plugins/googlecloud/bin/plugin.js', import.meta.url)),
  name: 'googlecloud',
  env: s.env,
  inproc: new GceInstanceGroup({ env: { ...process.env, ...s.env } }),
  init: { pluginConfig: { name: 'runners', project: 'fleetrunner-test', zone: 'us-central1-a', credentials_file: s.credentialsFile }, connector: defaultConnectorConfig() },
  instances: INSTANCES,
  calls: Number(process.env.BENCH_CALLS ?? 300),
  connectInfo: 'key pushed',
  title: 'googlecloud plugin against the GCE stand-in',
  stop: () => s.stop(),
});
