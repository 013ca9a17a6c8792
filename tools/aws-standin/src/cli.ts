import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { isLogLevel, type LogLevel } from '@fleetrunner/common';
import type { ThrottleRule } from '@fleetrunner/standin-kit';
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

function intOf(value: string, what: string): number {
  if (!/^\d+$/.test(value)) throw new Error(`${what}: expected a non-negative integer, got ${JSON.stringify(value)}`);
  return Number(value);
}

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

function throttleOf(spec: string): ThrottleRule {
  const rule: ThrottleRule = {};
  for (const part of spec.split(',')) {
    const [k, v = ''] = part.split('=', 2) as [string, string?];
    if (k === 'count') rule.count = intOf(v, '--throttle count');
    else if (k === 'every') rule.every = intOf(v, '--throttle every');
    else if (k === 'actions') rule.actions = v.split('+').filter(Boolean);
    else throw new Error(`--throttle: unknown setting ${JSON.stringify(part)}`);
  }
  return rule;
}

function configFile(path: string): AwsStandinOptions {
  const v = JSON.parse(readFileSync(path, 'utf8')) as unknown;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${path}: expected a JSON object`);
  return v as AwsStandinOptions;
}

/** Parses the command line into stand-in options (flags override the config file). */
export function parseStandinArgs(argv: readonly string[]): { options: AwsStandinOptions; logLevel: LogLevel; help: boolean } {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      config: { type: 'string' },
      group: { type: 'string', multiple: true },
      region: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      'ssh-port': { type: 'string' },
      subnet: { type: 'string' },
      'public-subnet': { type: 'string' },
      'machine-subnet': { type: 'string' },
      'machine-mode': { type: 'string' },
      'state-dir': { type: 'string' },
      'access-key-id': { type: 'string' },
      'secret-access-key': { type: 'string' },
      throttle: { type: 'string', multiple: true },
      'log-level': { type: 'string', default: 'info' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const o: AwsStandinOptions = values.config ? configFile(values.config) : {};
  if (values.group) o.groups = [...(o.groups ?? []), ...values.group.map(groupOf)];
  if (values.region) o.region = values.region;
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
  if (values['access-key-id']) {
    o.credentials = [{ accessKeyId: values['access-key-id'], ...(values['secret-access-key'] ? { secretAccessKey: values['secret-access-key'] } : {}) }];
  } else if (values['secret-access-key']) throw new Error('--secret-access-key needs --access-key-id');
  if (values.throttle) o.throttle = [...(o.throttle ?? []), ...values.throttle.map(throttleOf)];
  const level = values['log-level'] ?? 'info';
  if (!isLogLevel(level)) throw new Error(`--log-level: expected trace, debug, info, warn or error, got ${JSON.stringify(level)}`);
  return { options: o, logLevel: level, help: values.help ?? false };
}
