import { parseArgs } from 'node:util';
import type { LogLevel } from '@fleetrunner/common';
import { STANDIN_FLAGS, intOf, readOptionsFile, standinFlags } from '@fleetrunner/standin-kit';
import type { GroupSpec } from './model.js';
import type { GceStandinOptions } from './standin.js';

/** `gce-standin --help`. */
export const standinUsage = `Usage: gce-standin [options]

A Compute Engine API stand-in: the compute/v1 REST API of managed instance groups, instances and zone operations,
with instances that are SSH servers on this machine (they admit the keys in their ssh-keys metadata). Prints
"endpoint=<url>" when ready, then an "export NAME=VALUE" line for each environment variable a client needs
(the endpoint override CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE and GOOGLE_APPLICATION_CREDENTIALS, a service
account key file the stand-in accepts).

  --config FILE            JSON file with options (groups, throttle, subnets…; see the README)
  --group SPEC             a managed instance group, repeatable:
                           NAME[,max=N][,size=N][,zone=Z][,boot-delay=MS][,platform=windows][,paginated][,no-external-ip]
                           (max = the instance quota of the group, default 10)
  --project ID             the project served (default fleetrunner-test)
  --zone ZONE              zone of groups that name none (default us-central1-a)
  --host ADDR              API listen address (default 127.0.0.1)
  --port N                 API port (default: an ephemeral port)
  --ssh-port N             SSH port of every instance (default 22; needs root, else set connector_config.protocol_port)
  --subnet CIDR            internal addresses of instances (default 127.86.0.0/18)
  --public-subnet CIDR     external addresses of instances (default 127.86.64.0/18)
  --machine-subnet CIDR    addresses of the SSH servers behind instances (default 127.86.128.0/17)
  --machine-mode MODE      ssh2 (default) or sshd (OpenSSH behind each instance)
  --state-dir DIR          where machines live (default: a temporary directory)
  --token TOKEN            also accept this opaque bearer token, repeatable
  --throttle SPEC          throttle calls, repeatable: count=N or every=N, optionally methods=M+M, status=429|503,
                           retry-after=S (e.g. "count=5,methods=instanceGroupManagers.resize,status=503")
  --operation-delay MS     operations stay RUNNING this long (default 0)
  --log-level LEVEL        trace, debug, info (default), warn, error
`;

function groupOf(spec: string): GroupSpec {
  const [name, ...parts] = spec.split(',');
  if (!name) throw new Error(`--group ${JSON.stringify(spec)}: a group name comes first`);
  const g: GroupSpec = { name };
  for (const part of parts) {
    const [k, v = ''] = part.split('=', 2) as [string, string?];
    if (k === 'max') g.quota = intOf(v, `--group ${name}: max`);
    else if (k === 'size') g.targetSize = intOf(v, `--group ${name}: size`);
    else if (k === 'zone' && v) g.zone = v;
    else if (k === 'boot-delay') g.bootDelayMs = intOf(v, `--group ${name}: boot-delay`);
    else if (k === 'platform' && (v === 'linux' || v === 'windows')) g.platform = v;
    else if (k === 'paginated') g.listManagedInstancesResults = 'PAGINATED';
    else if (k === 'no-external-ip') g.externalIp = false;
    else throw new Error(`--group ${name}: unknown setting ${JSON.stringify(part)}`);
  }
  return g;
}

/** Parses the command line into stand-in options (flags override the config file). */
export function parseStandinArgs(argv: readonly string[]): { options: GceStandinOptions; logLevel: LogLevel; help: boolean } {
  const { values } = parseArgs({ args: [...argv], options: { ...STANDIN_FLAGS, project: { type: 'string' }, zone: { type: 'string' }, token: { type: 'string', multiple: true }, 'operation-delay': { type: 'string' } } });
  const o: GceStandinOptions = values.config ? readOptionsFile<GceStandinOptions>(values.config) : {};
  if (values.group) o.groups = [...(o.groups ?? []), ...values.group.map(groupOf)];
  if (values.project) o.project = values.project;
  if (values.zone) o.zone = values.zone;
  if (values.token) o.tokens = [...(o.tokens ?? []), ...values.token];
  if (values['operation-delay']) o.operationDelayMs = intOf(values['operation-delay'], '--operation-delay');
  return standinFlags(values, o, { selector: 'methods', statuses: ['429', '503', '403'] });
}
