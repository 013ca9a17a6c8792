// Shared set-up for the Azure stand-in's tests: the stand-in on the test file's own loopback subnets, and the real
// SDK clients against it, authenticated through its Entra ID token endpoint with its service principal.
import { rootCertificates } from 'node:tls';
import { ComputeManagementClient } from '@azure/arm-compute';
import { NetworkManagementClient } from '@azure/arm-network';
import { ClientSecretCredential, type TokenCredential } from '@azure/identity';
import { createLogger, textSink } from '@fleetrunner/common';
import type { Teardownable } from '@fleetrunner/testing';
import { startAzureStandin, type AzureStandin, type AzureStandinOptions } from '../src/index.js';

/** VMs listen on port 22 as root; elsewhere on an unprivileged port. */
export const SSH_PORT = process.getuid?.() === 0 ? 22 : 10022;
export const ARM_SCOPE = 'https://management.azure.com/.default';

/** The loopback subnets of test file slot `n` (50-63 for the stand-in's own tests): 127.89.n, 127.89.64+n, 127.89.128+n. */
export function subnets(n: number): Pick<AzureStandinOptions, 'subnet' | 'publicSubnet' | 'machineSubnet' | 'sshPort'> {
  return { subnet: `127.89.${n}.0/24`, publicSubnet: `127.89.${64 + n}.0/24`, machineSubnet: `127.89.${128 + n}.0/24`, sshPort: SSH_PORT };
}

/** A stand-in stopped when `t` ends. */
export async function standin(t: Teardownable, n: number, options: AzureStandinOptions = {}): Promise<AzureStandin> {
  const s = await startAzureStandin({ ...subnets(n), logger: createLogger({ level: 'warn', sink: textSink(process.stderr) }), ...options });
  t.teardown(() => s.stop());
  return s;
}

/** TLS settings trusting the stand-in's CA (in this process; a child process gets NODE_EXTRA_CA_CERTS). */
export function tlsOf(s: AzureStandin): { ca: string[] } {
  return { ca: [...rootCertificates, s.caPem] };
}

/** The stand-in's service principal as a ClientSecretCredential. */
export function credentialOf(s: AzureStandin, secret = s.directory.clientSecret): TokenCredential {
  return new ClientSecretCredential(s.directory.tenantId, s.directory.clientId, secret, { authorityHost: s.endpoint, disableInstanceDiscovery: true, tlsOptions: tlsOf(s) });
}

/** The compute and network clients against `s`, SDK retries off (one request per call). */
export function clients(s: AzureStandin, credential: TokenCredential = credentialOf(s)) {
  const common = { endpoint: s.endpoint, tlsOptions: tlsOf(s), retryOptions: { maxRetries: 0 } };
  return {
    compute: new ComputeManagementClient(credential, s.subscriptionId, common),
    network: new NetworkManagementClient(credential, s.subscriptionId, { ...common, $host: s.endpoint, credentialScopes: [ARM_SCOPE] }),
  };
}

/** A long-running operation's poll interval for tests. */
export const FAST_POLL = { updateIntervalInMs: 20 };
