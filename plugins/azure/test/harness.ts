// Shared set-up for the azure plugin's tests: the Azure stand-in in this process on the test file's own loopback
// subnets (stopped, every machine killed, when the test ends), and the plugin pointed at it the way a user would do
// it: the service principal in AZURE_* variables, the endpoint overrides, the stand-in's CA.
import { rootCertificates } from 'node:tls';
import { createLogger, textSink } from '@fleetrunner/common';
import { defaultConnectorConfig, type ConnectorConfig } from '@fleetrunner/fleeting';
import { startAzureStandin, type AzureStandin, type AzureStandinOptions, type ScaleSetSpec } from '@fleetrunner/azure-standin';
import type { Teardownable } from '@fleetrunner/testing';

export { runningInstances, untilUpdate } from '@fleetrunner/testing';
import { AzureInstanceGroup, type AzureInstanceGroupOptions } from '../src/index.js';

/** VMs listen on port 22 as root; elsewhere on an unprivileged port. */
export const SSH_PORT = process.getuid?.() === 0 ? 22 : 10022;
export const RG = 'fleetrunner-test';
export const USER = 'runner';
export const PASSWORD = 'my-scale-set-static-password';

/** Fast retries for tests: the same shape as the default policy, shorter waits. */
export const FAST_RETRY = { throttledAttempts: 5, transientAttempts: 2, baseDelayMs: 5, maxDelayMs: 40, maxRetryAfterMs: 2000 };

/** The loopback subnets of test file slot `n` (1-49): 127.89.n, 127.89.64+n, 127.89.128+n. */
export function subnets(n: number): Pick<AzureStandinOptions, 'subnet' | 'publicSubnet' | 'machineSubnet' | 'sshPort'> {
  return { subnet: `127.89.${n}.0/24`, publicSubnet: `127.89.${64 + n}.0/24`, machineSubnet: `127.89.${128 + n}.0/24`, sshPort: SSH_PORT };
}

/** A scale set with the tests' admin user and password. */
export function scaleSet(name: string, over: Partial<ScaleSetSpec> = {}): ScaleSetSpec {
  return { name, adminUsername: USER, adminPassword: PASSWORD, ...over };
}

/** A stand-in stopped when `t` ends; the environment of this process (and its children) points at it from now on. */
export async function standin(t: Teardownable, n: number, options: AzureStandinOptions = {}): Promise<AzureStandin> {
  const s = await startAzureStandin({ ...subnets(n), logger: createLogger({ level: 'warn', sink: textSink(process.stderr) }), ...options });
  t.teardown(() => s.stop());
  Object.assign(process.env, s.env);
  return s;
}

/** The plugin_config of the tests' scale set. */
export function pluginConfig(s: AzureStandin, over: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'runners', subscription_id: s.subscriptionId, resource_group_name: RG, ...over };
}

/** Static credentials: the scale set's admin user and password. */
export function staticConnector(over: Partial<ConnectorConfig> = {}): Partial<ConnectorConfig> {
  return { protocolPort: SSH_PORT, username: USER, password: PASSWORD, useStaticCredentials: true, ...over };
}

/** Plugin options for an in-process group against `s` (its CA trusted in this process, fast polls and retries). */
export function groupOptions(s: AzureStandin, over: AzureInstanceGroupOptions = {}): AzureInstanceGroupOptions {
  return { retry: FAST_RETRY, pollIntervalMs: 20, ca: [...rootCertificates, s.caPem], env: { ...process.env, ...s.env }, ...over };
}

/** An initialized in-process group on `s`, shut down when `t` ends. */
export async function azureGroup(
  t: Teardownable,
  s: AzureStandin,
  spec: { pluginConfig?: Record<string, unknown>; connector?: Partial<ConnectorConfig>; options?: AzureInstanceGroupOptions } = {},
): Promise<AzureInstanceGroup> {
  const group = new AzureInstanceGroup(groupOptions(s, spec.options));
  t.teardown(() => group.shutdown());
  await group.init({ pluginConfig: pluginConfig(s, spec.pluginConfig), connector: defaultConnectorConfig(staticConnector(spec.connector)) });
  return group;
}


/** Calls of one API operation (`compute:virtualMachineScaleSets.update`…) the stand-in received so far. */
export function callsOf(s: AzureStandin, operation: string): number {
  return s.calls.get(operation) ?? 0;
}
