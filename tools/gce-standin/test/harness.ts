// Shared set-up for the GCE stand-in's tests: the stand-in on the test file's own loopback subnets, and the three
// real compute clients against it, authenticated with the stand-in's service account key (a self-signed JWT).
import { InstanceGroupManagersClient } from '@google-cloud/compute/build/src/v1/instance_group_managers_client.js';
import { InstancesClient } from '@google-cloud/compute/build/src/v1/instances_client.js';
import { ZoneOperationsClient } from '@google-cloud/compute/build/src/v1/zone_operations_client.js';
import { GoogleAuth } from 'google-auth-library';
import { createLogger, textSink } from '@fleetrunner/common';
import type { Teardownable } from '@fleetrunner/testing';
import { startGceStandin, type GceStandin, type GceStandinOptions } from '../src/index.js';

/** Instances listen on port 22 as root (as on GCE); elsewhere on an unprivileged port. */
export const SSH_PORT = process.getuid?.() === 0 ? 22 : 10022;
export const WHERE = { project: 'fleetrunner-test', zone: 'us-central1-a' };

/** The loopback subnets of test file slot `n` (50-63 for the stand-in's own tests). */
export function subnets(n: number): Pick<GceStandinOptions, 'subnet' | 'publicSubnet' | 'machineSubnet' | 'sshPort'> {
  return { subnet: `127.86.${n}.0/24`, publicSubnet: `127.86.${64 + n}.0/24`, machineSubnet: `127.86.${128 + n}.0/24`, sshPort: SSH_PORT };
}

/** A stand-in stopped when `t` ends. */
export async function standin(t: Teardownable, n: number, options: GceStandinOptions = {}): Promise<GceStandin> {
  const s = await startGceStandin({ ...subnets(n), logger: createLogger({ level: 'warn', sink: textSink(process.stderr) }), ...options });
  t.teardown(() => s.stop());
  return s;
}

/** The three clients against `s`; `credentials` defaults to its own key file. */
export function clients(s: GceStandin, auth?: GoogleAuth) {
  const url = new URL(s.endpoint);
  const a = auth ?? new GoogleAuth({ keyFilename: s.credentialsFile, scopes: ['https://www.googleapis.com/auth/compute'] });
  a.useJWTAccessWithScope = true;
  const opts = { apiEndpoint: url.hostname, port: Number(url.port), protocol: 'http', auth: a };
  return { igm: new InstanceGroupManagersClient(opts), instances: new InstancesClient(opts), operations: new ZoneOperationsClient(opts) };
}

/** The error an SDK call rejected with: HTTP status, reason and message from GCE's JSON body, Retry-After. */
export async function sdkError(p: Promise<unknown>): Promise<{ status: number | undefined; reason: string; message: string; retryAfter: string | null }> {
  try {
    await p;
  } catch (err) {
    const e = err as Error & { code?: unknown; response?: { headers?: Headers } };
    const body = JSON.parse(e.message) as { error: { code: number; message: string; errors: { reason: string }[] } };
    return { status: typeof e.code === 'number' ? e.code : undefined, reason: body.error.errors[0]!.reason, message: body.error.message, retryAfter: e.response?.headers?.get('retry-after') ?? null };
  }
  throw new Error('the call succeeded');
}
