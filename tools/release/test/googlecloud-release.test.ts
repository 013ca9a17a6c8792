// plugins/googlecloud released as one bundle, installed with `runner fleeting install` from a registry, and run by
// `runner exec` against the GCE stand-in with no node_modules anywhere above it.
import t from 'tap';
import { createLogger, textSink } from '@fleetrunner/common';
import { startGceStandin } from '@fleetrunner/gce-standin';
import { SSH_PORT, releaseInstallRun } from './cloud-release.js';

// This file's loopback subnets (127.86.x is the googlecloud plugin's range).
const N = 40;

t.test('plugins/googlecloud: one bundle under 7 MB, installed by runner fleeting install, runs the pipeline', async (t) => {
  await releaseInstallRun(t, {
    plugin: 'googlecloud',
    short: 'gce',
    maxBytes: 7_000_000,
    why: "deep imports of three clients, not the package root's 72 MB",
    standin: async (t) => {
      const s = await startGceStandin({
        subnet: `127.86.${N}.0/24`,
        publicSubnet: `127.86.${64 + N}.0/24`,
        machineSubnet: `127.86.${128 + N}.0/24`,
        sshPort: SSH_PORT,
        groups: [{ name: 'runners', quota: 2 }],
        logger: createLogger({ level: 'warn', sink: textSink(process.stderr) }),
      });
      t.teardown(() => s.stop());
      return {
        env: s.env,
        pluginConfig: 'name = "runners"\nproject = "fleetrunner-test"\nzone = "us-central1-a"\n',
        connector: `protocol_port = ${SSH_PORT}\n`,
        empty: async () => (s.cloud.groups.get('us-central1-a/runners')?.instances.length ?? 1) === 0 && (await s.cloud.options.backend.states()).size === 0,
      };
    },
  });
});
