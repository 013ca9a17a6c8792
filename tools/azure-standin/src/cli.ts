import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { LogLevel } from '@fleetrunner/common';
import { STANDIN_FLAGS, intOf, readOptionsFile, standinFlags } from '@fleetrunner/standin-kit';
import type { ScaleSetSpec } from './model.js';
import type { AzureStandinOptions } from './standin.js';

/** `azure-standin --help`. */
export const standinUsage = `Usage: azure-standin [options]

An Azure Resource Manager stand-in over HTTPS (its own CA, made at start with openssl): Virtual Machine Scale Sets,
their VMs, network interfaces and public addresses with asynchronous operations, Entra ID's token endpoint and a
managed identity endpoint; VMs are SSH servers on this machine that admit the scale set's admin user. Prints
"endpoint=<url>" when ready, then an "export NAME=VALUE" line for each environment variable a client needs
(AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_AUTHORITY_HOST, AZURE_RESOURCE_MANAGER_ENDPOINT,
NODE_EXTRA_CA_CERTS).

  --config FILE            JSON file with options (scaleSets, throttle, subnets…; see the README)
  --group SPEC             a scale set, repeatable:
                           NAME[,max=N][,capacity=N][,user=U][,password=P][,key=FILE][,resource-group=RG]
                           [,boot-delay=MS][,os=windows][,flexible][,no-public-ip]
                           (max = the quota of the scale set, default 10; user default azureuser)
  --subscription ID        the subscription served
  --resource-group RG      resource group of scale sets that name none (default fleetrunner-test)
  --host ADDR              listen address (default 127.0.0.1)
  --port N                 port (default: an ephemeral port)
  --ssh-port N             SSH port of every VM (default 22; needs root, else set connector_config.protocol_port)
  --subnet CIDR            private addresses of VMs (default 127.89.0.0/18)
  --public-subnet CIDR     public addresses of VMs (default 127.89.64.0/18)
  --machine-subnet CIDR    addresses of the SSH servers behind VMs (default 127.89.128.0/17)
  --machine-mode MODE      ssh2 (default) or sshd (OpenSSH behind each VM)
  --state-dir DIR          where machines live (default: a temporary directory)
  --throttle SPEC          throttle calls, repeatable: count=N or every=N, optionally operations=OP+OP,
                           status=429|503, retry-after=S (e.g. "every=3,operations=virtualMachineScaleSets.update")
  --operation-delay MS     asynchronous operations stay InProgress this long (default 0)
  --log-level LEVEL        trace, debug, info (default), warn, error
`;

function scaleSetOf(spec: string): ScaleSetSpec {
  const [name, ...parts] = spec.split(',');
  if (!name) throw new Error(`--group ${JSON.stringify(spec)}: a scale set name comes first`);
  const g: ScaleSetSpec = { name };
  for (const part of parts) {
    const at = part.indexOf('=');
    const [k, v] = at < 0 ? [part, ''] : [part.slice(0, at), part.slice(at + 1)];
    if (k === 'max') g.quota = intOf(v, `--group ${name}: max`);
    else if (k === 'capacity') g.capacity = intOf(v, `--group ${name}: capacity`);
    else if (k === 'user' && v) g.adminUsername = v;
    else if (k === 'password' && v) g.adminPassword = v;
    else if (k === 'key' && v) g.publicKeys = [...(g.publicKeys ?? []), readFileSync(v, 'utf8').trim()];
    else if (k === 'resource-group' && v) g.resourceGroup = v;
    else if (k === 'boot-delay') g.bootDelayMs = intOf(v, `--group ${name}: boot-delay`);
    else if (k === 'os' && (v === 'windows' || v === 'linux')) g.osType = v === 'windows' ? 'Windows' : 'Linux';
    else if (k === 'flexible' && at < 0) g.orchestrationMode = 'Flexible';
    else if (k === 'no-public-ip' && at < 0) g.publicIp = false;
    else throw new Error(`--group ${name}: unknown setting ${JSON.stringify(part)}`);
  }
  return g;
}

/** Parses the command line into stand-in options (flags override the config file). */
export function parseStandinArgs(argv: readonly string[]): { options: AzureStandinOptions; logLevel: LogLevel; help: boolean } {
  const { values } = parseArgs({ args: [...argv], options: { ...STANDIN_FLAGS, subscription: { type: 'string' }, 'resource-group': { type: 'string' }, 'operation-delay': { type: 'string' } } });
  const o: AzureStandinOptions = values.config ? readOptionsFile<AzureStandinOptions>(values.config) : {};
  if (values.group) o.scaleSets = [...(o.scaleSets ?? []), ...values.group.map(scaleSetOf)];
  if (values.subscription) o.subscriptionId = values.subscription;
  if (values['resource-group']) o.resourceGroup = values['resource-group'];
  if (values['operation-delay']) o.operationDelayMs = intOf(values['operation-delay'], '--operation-delay');
  return standinFlags(values, o, { selector: 'operations', statuses: ['429', '503'] });
}
