import { parseArgs } from 'node:util';
import type { LogLevel } from '@fleetrunner/common';
import { STANDIN_FLAGS, intOf, readOptionsFile, standinFlags } from '@fleetrunner/standin-kit';
import type { GroupSpec } from './model.js';
import type { AwsStandinOptions } from './standin.js';

/** `aws-standin --help`. */
export const standinUsage = `Usage: aws-standin [options]

An AWS API stand-in: the Auto Scaling and EC2 query APIs and EC2 Instance Connect, served on one endpoint, with
instances that are SSH servers on this machine. Prints "endpoint=<url>" when ready; point the AWS SDK at it with
AWS_ENDPOINT_URL=<url> (any AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY pair is accepted unless --access-key-id is set).

  --config FILE            JSON file with options (groups, throttle, credentials, subnets…; see the README)
  --group SPEC             an Auto Scaling group, repeatable:
                           NAME[,max=N][,min=N][,desired=N][,boot-delay=MS][,platform=windows][,spot][,no-public-ip]
  --region NAME            the region served (default us-east-1)
  --host ADDR              API listen address (default 127.0.0.1)
  --port N                 API port (default: an ephemeral port)
  --ssh-port N             SSH port of every instance (default 22; needs root, else set connector_config.protocol_port)
  --subnet CIDR            private addresses of instances (default 127.90.0.0/17)
  --public-subnet CIDR     public addresses of instances (default 127.90.128.0/17)
  --machine-subnet CIDR    addresses of the SSH servers behind instances (default 127.91.0.0/16)
  --machine-mode MODE      ssh2 (default) or sshd (OpenSSH behind each instance)
  --state-dir DIR          where machines live (default: a temporary directory)
  --access-key-id ID       accept only this access key id
  --secret-access-key KEY  and check request signatures with this secret
  --throttle SPEC          throttle calls, repeatable: count=N or every=N, optionally actions=A+B
                           (e.g. "count=5,actions=ec2:DescribeInstances")
  --log-level LEVEL        trace, debug, info (default), warn, error
`;

function groupOf(spec: string): GroupSpec {
  const [name, ...parts] = spec.split(',');
  if (!name) throw new Error(`--group ${JSON.stringify(spec)}: a group name comes first`);
  const g: GroupSpec = { name };
  for (const part of parts) {
    const [k, v = ''] = part.split('=', 2) as [string, string?];
    if (k === 'max') g.maxSize = intOf(v, `--group ${name}: max`);
    else if (k === 'min') g.minSize = intOf(v, `--group ${name}: min`);
    else if (k === 'desired') g.desiredCapacity = intOf(v, `--group ${name}: desired`);
    else if (k === 'boot-delay') g.bootDelayMs = intOf(v, `--group ${name}: boot-delay`);
    else if (k === 'platform' && (v === 'linux' || v === 'windows')) g.platform = v;
    else if (k === 'spot') g.spot = true;
    else if (k === 'no-public-ip') g.publicIp = false;
    else throw new Error(`--group ${name}: unknown setting ${JSON.stringify(part)}`);
  }
  return g;
}

/** Parses the command line into stand-in options (flags override the config file). */
export function parseStandinArgs(argv: readonly string[]): { options: AwsStandinOptions; logLevel: LogLevel; help: boolean } {
  const { values } = parseArgs({ args: [...argv], options: { ...STANDIN_FLAGS, region: { type: 'string' }, 'access-key-id': { type: 'string' }, 'secret-access-key': { type: 'string' } } });
  const o: AwsStandinOptions = values.config ? readOptionsFile<AwsStandinOptions>(values.config) : {};
  if (values.group) o.groups = [...(o.groups ?? []), ...values.group.map(groupOf)];
  if (values.region) o.region = values.region;
  if (values['access-key-id']) {
    o.credentials = [{ accessKeyId: values['access-key-id'], ...(values['secret-access-key'] ? { secretAccessKey: values['secret-access-key'] } : {}) }];
  } else if (values['secret-access-key']) throw new Error('--secret-access-key needs --access-key-id');
  return standinFlags(values, o, { selector: 'actions' });
}
