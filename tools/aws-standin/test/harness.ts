// Shared set-up for the stand-in's tests: a stand-in on the test file's own loopback subnets, stopped (every
// machine killed) when the test ends, and real AWS SDK clients pointed at it.
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { EC2Client } from '@aws-sdk/client-ec2';
import { EC2InstanceConnectClient } from '@aws-sdk/client-ec2-instance-connect';
import { createLogger, systemClock, textSink, type Clock } from '@fleetrunner/common';
import type { Teardownable } from '@fleetrunner/testing';
import { startAwsStandin, type AwsStandin, type AwsStandinOptions } from '../src/index.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

/** Instances listen on port 22 as root (as on EC2); elsewhere on an unprivileged port. */
export const SSH_PORT = process.getuid?.() === 0 ? 22 : 10022;

/** The loopback subnets of test file `n` (1-99): tap runs files in parallel, each needs its own. */
export function subnets(n: number): Pick<AwsStandinOptions, 'subnet' | 'publicSubnet' | 'machineSubnet' | 'sshPort'> {
  return { subnet: `127.90.${n}.0/24`, publicSubnet: `127.90.${128 + n}.0/24`, machineSubnet: `127.91.${n}.0/24`, sshPort: SSH_PORT };
}

/** A stand-in stopped when `t` ends. */
export async function standin(t: Teardownable, n: number, options: AwsStandinOptions = {}): Promise<AwsStandin> {
  // Warnings of the stand-in (an instance that failed on its own) go to the test output.
  const s = await startAwsStandin({ ...subnets(n), logger: createLogger({ level: 'warn', sink: textSink(process.stderr) }), ...options });
  t.teardown(() => s.stop());
  return s;
}

/** The three SDK clients against `s`, with static credentials and no SDK retries (so faults show). */
export function clients(s: AwsStandin, credentials = { accessKeyId: 'AKIDSTANDIN', secretAccessKey: 'secret' }) {
  const config = { region: 'us-east-1', endpoint: s.endpoint, credentials, maxAttempts: 1 };
  return { asg: new AutoScalingClient(config), ec2: new EC2Client(config), connect: new EC2InstanceConnectClient(config) };
}

/** The wall clock shifted by an offset the test can move forward (key expiry without waiting). */
export class ShiftedClock implements Clock {
  offset = 0;
  now(): number {
    return systemClock.now() + this.offset;
  }
  setTimeout(fn: () => void, ms: number) {
    return systemClock.setTimeout(fn, ms);
  }
  sleep(ms: number, options?: { signal?: AbortSignal }): Promise<void> {
    return systemClock.sleep(ms, options);
  }
}

/** The error an SDK call rejected with: its code (name), message and HTTP status. */
export async function sdkError(p: Promise<unknown>): Promise<{ name: string; message: string; status: number | undefined }> {
  try {
    await p;
  } catch (err) {
    const e = err as Error & { $metadata?: { httpStatusCode?: number } };
    return { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode };
  }
  throw new Error('the call succeeded');
}
