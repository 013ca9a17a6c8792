// Shared set-up for the googlecloud plugin's tests: the GCE stand-in in this process on the test file's own
// loopback subnets (stopped, every machine killed, when the test ends), and the plugin pointed at it the way a user
// would do it: gcloud's endpoint override and a service account key file.
import { createLogger, textSink } from '@fleetrunner/common';
import { defaultConnectorConfig, type ConnectorConfig } from '@fleetrunner/fleeting';
import { startGceStandin, type GceStandin, type GceStandinOptions } from '@fleetrunner/gce-standin';
import type { Teardownable } from '@fleetrunner/testing';

export { runningInstances, untilUpdate } from '@fleetrunner/testing';
import { GceInstanceGroup, type GceInstanceGroupOptions } from '../src/index.js';

/** Instances listen on port 22 as root (as on GCE); elsewhere on an unprivileged port. */
export const SSH_PORT = process.getuid?.() === 0 ? 22 : 10022;

export const PROJECT = 'fleetrunner-test';
export const ZONE = 'us-central1-a';

/** Fast retries for tests: the same shape as the default policy, shorter waits. */
export const FAST_RETRY = { throttledAttempts: 5, transientAttempts: 2, baseDelayMs: 5, maxDelayMs: 40, maxRetryAfterMs: 2000 };

/** The loopback subnets of test file slot `n` (1-63): 127.86.n, 127.86.64+n, 127.86.128+n. */
export function subnets(n: number): Pick<GceStandinOptions, 'subnet' | 'publicSubnet' | 'machineSubnet' | 'sshPort'> {
  return { subnet: `127.86.${n}.0/24`, publicSubnet: `127.86.${64 + n}.0/24`, machineSubnet: `127.86.${128 + n}.0/24`, sshPort: SSH_PORT };
}

/** A stand-in stopped when `t` ends; the environment of this process points at it from now on. */
export async function standin(t: Teardownable, n: number, options: GceStandinOptions = {}): Promise<GceStandin> {
  const s = await startGceStandin({ ...subnets(n), project: PROJECT, zone: ZONE, logger: createLogger({ level: 'warn', sink: textSink(process.stderr) }), ...options });
  t.teardown(() => s.stop());
  Object.assign(process.env, s.env);
  return s;
}

/** The plugin_config of the tests' group. */
export function pluginConfig(s: GceStandin, over: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'runners', project: PROJECT, zone: ZONE, credentials_file: s.credentialsFile, ...over };
}

/** An initialized in-process group on `s`, shut down when `t` ends. */
export async function gceGroup(
  t: Teardownable,
  s: GceStandin,
  spec: { pluginConfig?: Record<string, unknown>; connector?: Partial<ConnectorConfig>; options?: GceInstanceGroupOptions } = {},
): Promise<GceInstanceGroup> {
  const group = new GceInstanceGroup({ retry: FAST_RETRY, env: { ...process.env, ...s.env }, ...spec.options });
  t.teardown(() => group.shutdown());
  await group.init({ pluginConfig: pluginConfig(s, spec.pluginConfig), connector: defaultConnectorConfig({ protocolPort: SSH_PORT, ...spec.connector }) });
  return group;
}


/** Calls of one API method (`instanceGroupManagers.resize`…) the stand-in received so far. */
export function callsOf(s: GceStandin, method: string): number {
  return s.calls.get(`compute:${method}`) ?? 0;
}
