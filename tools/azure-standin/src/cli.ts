import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { isLogLevel, type LogLevel } from '@fleetrunner/common';
import type { ThrottleRule } from '@fleetrunner/standin-kit';
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

function intOf(value: string, what: string): number {
  if (!/^\d+$/.test(value)) throw new Error(`${what}: expected a non-negative integer, got ${JSON.stringify(value)}`);
  return Number(value);
}

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

function throttleOf(spec: string): ThrottleRule {
  const rule: ThrottleRule = {};
  for (const part of spec.split(',')) {
    const [k, v = ''] = part.split('=', 2) as [string, string?];
    if (k === 'count') rule.count = intOf(v, '--throttle count');
    else if (k === 'every') rule.every = intOf(v, '--throttle every');
    else if (k === 'operations') rule.actions = v.split('+').filter(Boolean);
    else if (k === 'status' && (v === '429' || v === '503')) rule.status = Number(v);
    else if (k === 'retry-after') rule.retryAfterSeconds = intOf(v, '--throttle retry-after');
    else throw new Error(`--throttle: unknown setting ${JSON.stringify(part)}`);
  }
  return rule;
}

function configFile(path: string): AzureStandinOptions {
  const v = JSON.parse(readFileSync(path, 'utf8')) as unknown;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${path}: expected a JSON object`);
  return v as AzureStandinOptions;
}

/** Parses the command line into stand-in options (flags override the config file). */
export function parseStandinArgs(argv: readonly string[]): { options: AzureStandinOptions; logLevel: LogLevel; help: boolean } {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      config: { type: 'string' },
      group: { type: 'string', multiple: true },
      subscription: { type: 'string' },
      'resource-group': { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      'ssh-port': { type: 'string' },
      subnet: { type: 'string' },
      'public-subnet': { type: 'string' },
      'machine-subnet': { type: 'string' },
      'machine-mode': { type: 'string' },
      'state-dir': { type: 'string' },
      throttle: { type: 'string', multiple: true },
      'operation-delay': { type: 'string' },
      'log-level': { type: 'string', default: 'info' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const o: AzureStandinOptions = values.config ? configFile(values.config) : {};
  if (values.group) o.scaleSets = [...(o.scaleSets ?? []), ...values.group.map(scaleSetOf)];
  if (values.subscription) o.subscriptionId = values.subscription;
  if (values['resource-group']) o.resourceGroup = values['resource-group'];
  if (values.host) o.host = values.host;
  if (values.port) o.port = intOf(values.port, '--port');
  if (values['ssh-port']) o.sshPort = intOf(values['ssh-port'], '--ssh-port');
  if (values.subnet) o.subnet = values.subnet;
  if (values['public-subnet']) o.publicSubnet = values['public-subnet'];
  if (values['machine-subnet']) o.machineSubnet = values['machine-subnet'];
  if (values['machine-mode']) {
    const m = values['machine-mode'];
    if (m !== 'ssh2' && m !== 'sshd') throw new Error(`--machine-mode: expected ssh2 or sshd, got ${JSON.stringify(m)}`);
    o.machineMode = m;
  }
  if (values['state-dir']) o.stateDir = values['state-dir'];
  if (values.throttle) o.throttle = [...(o.throttle ?? []), ...values.throttle.map(throttleOf)];
  if (values['operation-delay']) o.operationDelayMs = intOf(values['operation-delay'], '--operation-delay');
  const level = values['log-level'] ?? 'info';
  if (!isLogLevel(level)) throw new Error(`--log-level: expected trace, debug, info, warn or error, got ${JSON.stringify(level)}`);
  return { options: o, logLevel: level, help: values.help ?? false };
}
