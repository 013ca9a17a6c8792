// Shared set-up for the AWS plugin's tests: the AWS stand-in in this process on the test file's own loopback
// subnets (stopped, every machine killed, when the test ends), and the plugin pointed at it through the SDK
// environment, as a user would do.
import { createLogger, textSink } from '@fleetrunner/common';
import { defaultConnectorConfig, type ConnectorConfig } from '@fleetrunner/fleeting';
import { startAwsStandin, type AwsStandin, type AwsStandinOptions } from '@fleetrunner/aws-standin';
import type { Teardownable } from '@fleetrunner/testing';

export { runningInstances, untilUpdate } from '@fleetrunner/testing';
import { AwsInstanceGroup, type AwsInstanceGroupOptions } from '../src/index.js';

/** Instances listen on port 22 as root (as on EC2); elsewhere on an unprivileged port. */
export const SSH_PORT = process.getuid?.() === 0 ? 22 : 10022;

/** Credentials and SDK settings every plugin in these tests gets (the plugin binary inherits them). */
export const AWS_ENV = {
  AWS_ACCESS_KEY_ID: 'AKIDFLEETRUNNER',
  AWS_SECRET_ACCESS_KEY: 'not-a-secret',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};
Object.assign(process.env, AWS_ENV);

/** Fast retries for tests: the same shape as the default policy, shorter waits. */
export const FAST_RETRY = { throttledAttempts: 5, transientAttempts: 2, baseDelayMs: 5, maxDelayMs: 40 };

/** The loopback subnets of test file `n` (60-127): tap runs files in parallel, each needs its own. */
export function subnets(n: number): Pick<AwsStandinOptions, 'subnet' | 'publicSubnet' | 'machineSubnet' | 'sshPort'> {
  return { subnet: `127.90.${n}.0/24`, publicSubnet: `127.90.${128 + n}.0/24`, machineSubnet: `127.91.${n}.0/24`, sshPort: SSH_PORT };
}

/** A stand-in stopped when `t` ends; `AWS_ENDPOINT_URL` points at it from now on. */
export async function standin(t: Teardownable, n: number, options: AwsStandinOptions = {}): Promise<AwsStandin> {
  // Warnings of the stand-in (an instance that failed on its own) go to the test output.
  const s = await startAwsStandin({ ...subnets(n), logger: createLogger({ level: 'warn', sink: textSink(process.stderr) }), ...options });
  t.teardown(() => s.stop());
  process.env.AWS_ENDPOINT_URL = s.endpoint;
  return s;
}

/** An initialized in-process group on `s`, shut down when `t` ends. */
export async function awsGroup(
  t: Teardownable,
  s: AwsStandin,
  spec: { pluginConfig?: Record<string, unknown>; connector?: Partial<ConnectorConfig>; options?: AwsInstanceGroupOptions } = {},
): Promise<AwsInstanceGroup> {
  process.env.AWS_ENDPOINT_URL = s.endpoint;
  const group = new AwsInstanceGroup({ retry: FAST_RETRY, ...spec.options });
  t.teardown(() => group.shutdown());
  await group.init({ pluginConfig: { name: 'runners', region: 'us-east-1', ...spec.pluginConfig }, connector: defaultConnectorConfig({ protocolPort: SSH_PORT, ...spec.connector }) });
  return group;
}


/** Calls of one action the stand-in received so far. */
export function callsOf(s: AwsStandin, action: string): number {
  let n = 0;
  for (const [k, v] of s.calls) if (k.endsWith(`:${action}`)) n += v;
  return n;
}
