// plugins/azure released as one bundle, installed with `runner fleeting install` from a registry, and run by
// `runner exec` against the Azure stand-in (HTTPS, its CA through NODE_EXTRA_CA_CERTS) with no node_modules above it.
import t from 'tap';
import { createLogger, textSink } from '@fleetrunner/common';
import { startAzureStandin } from '@fleetrunner/azure-standin';
import { SSH_PORT, releaseInstallRun } from './cloud-release.js';

// This file's loopback subnets (127.89.x is the azure plugin's range).
const N = 40;

t.test('plugins/azure: one bundle under 5 MB, installed by runner fleeting install, runs the pipeline with password logins', async (t) => {
  await releaseInstallRun(t, {
    plugin: 'azure',
    short: 'azure',
    maxBytes: 5_000_000,
    standin: async (t) => {
      const s = await startAzureStandin({
        subnet: `127.89.${N}.0/24`,
        publicSubnet: `127.89.${64 + N}.0/24`,
        machineSubnet: `127.89.${128 + N}.0/24`,
        sshPort: SSH_PORT,
        scaleSets: [{ name: 'runners', quota: 2, adminUsername: 'runner', adminPassword: 'release-Passw0rd' }],
        logger: createLogger({ level: 'warn', sink: textSink(process.stderr) }),
      });
      t.teardown(() => s.stop());
      return {
        env: s.env,
        pluginConfig: `name = "runners"\nsubscription_id = "${s.subscriptionId}"\nresource_group_name = "${s.resourceGroup}"\n`,
        connector: `username = "runner"\npassword = "release-Passw0rd"\nuse_static_credentials = true\nprotocol_port = ${SSH_PORT}\n`,
        empty: async () => s.cloud.scaleSet(s.resourceGroup, 'runners').vms.length === 0 && (await s.cloud.options.backend.states()).size === 0,
      };
    },
  });
});
