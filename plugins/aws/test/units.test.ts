import { constants, generateKeyPairSync, publicEncrypt } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AutoScalingServiceException } from '@aws-sdk/client-auto-scaling';
import { ThrottlingException } from '@aws-sdk/client-ec2-instance-connect';
import t from 'tap';
import ssh2 from 'ssh2';
import { FakeClock, nullLogger } from '@fleetrunner/common';
import { tmpDir } from '@fleetrunner/testing';
import { decryptWindowsPassword, generateEd25519, instanceState, parseAwsConfig, publicKeyLineOf, withRetry } from '../src/index.js';
import { resolveRegion } from '../src/shared-config.js';
import type { Ec2View } from '../src/aws-api.js';

t.test('plugin_config: upstream keys only, name required, every problem named', async (t) => {
  t.same(parseAwsConfig({ name: 'runners', region: 'eu-west-1', profile: 'ci', config_file: '/c', credentials_file: '/k' }), {
    name: 'runners',
    region: 'eu-west-1',
    profile: 'ci',
    configFile: '/c',
    credentialsFile: '/k',
  });
  t.same(parseAwsConfig('{"name":"runners"}'), { name: 'runners' }, 'JSON text is accepted');
  const cases: [string, unknown, RegExp][] = [
    ['missing name', {}, /plugin_config\.name: required/],
    ['wrong type', { name: 'g', region: 5 }, /plugin_config\.region: expected a non-empty string, got 5/],
    ['bad region', { name: 'g', region: 'Europe' }, /plugin_config\.region: expected a region like "us-east-1"/],
    ['not an object', '[1]', /plugin_config: expected an object/],
    ['all at once', { nme: 'g', profile: '' }, /^plugin_config\.profile: expected a non-empty string.*; plugin_config\.name: required/],
  ];
  for (const [what, raw, msg] of cases) t.throws(() => parseAwsConfig(raw), { code: 'invalid_argument', message: msg }, what);
  // Go plugins ignore unknown JSON keys; so does this one, with a warning for each.
  const warnings: string[] = [];
  t.same(parseAwsConfig({ name: 'g', endpoint: 'http://x', credentials_profile: 'x' }, warnings), { name: 'g' }, 'unknown keys are not errors');
  t.same(warnings, [
    'plugin_config.endpoint: unknown key, ignored (expected one of name, region, profile, config_file, credentials_file)',
    'plugin_config.credentials_profile: unknown key, ignored (expected one of name, region, profile, config_file, credentials_file)',
  ]);
});

t.test('region: AWS_REGION, AWS_DEFAULT_REGION, then the profile in the config file', async (t) => {
  const dir = tmpDir(t);
  const file = join(dir, 'config');
  writeFileSync(file, '[default]\nregion = eu-west-1\n\n[profile ci]\n# comment\nregion=ap-south-1\ns3 =\n  region = nested-ignored\n');
  const env = { HOME: dir };
  t.equal(await resolveRegion({ profile: 'default', configFile: file, env: { ...env, AWS_REGION: 'us-west-2', AWS_DEFAULT_REGION: 'x' } }), 'us-west-2');
  t.equal(await resolveRegion({ profile: 'default', configFile: file, env: { ...env, AWS_DEFAULT_REGION: 'ca-central-1' } }), 'ca-central-1');
  t.equal(await resolveRegion({ profile: 'default', configFile: file, env }), 'eu-west-1');
  t.equal(await resolveRegion({ profile: 'ci', configFile: file, env }), 'ap-south-1');
  t.equal(await resolveRegion({ profile: 'other', configFile: file, env }), undefined);
  t.equal(await resolveRegion({ profile: 'default', env: { ...env, AWS_CONFIG_FILE: file } }), 'eu-west-1', 'AWS_CONFIG_FILE names the file');
  t.equal(await resolveRegion({ profile: 'default', env }), undefined, 'no ~/.aws/config: no region');
});

t.test('instance states from the Auto Scaling lifecycle, health and EC2 state', async (t) => {
  const ec2 = (state: string, privateIp = '10.0.0.1'): Ec2View => ({ id: 'i-1', state, privateIp, publicIp: '', availabilityZone: 'a', platform: '', architecture: 'x86_64' });
  const cases: [string, string, Ec2View | undefined, string][] = [
    ['Pending', 'Healthy', undefined, 'creating'],
    ['Pending:Wait', 'Healthy', ec2('pending'), 'creating'],
    ['InService', 'Healthy', ec2('pending'), 'creating'],
    ['InService', 'Healthy', ec2('running', ''), 'creating'],
    ['InService', 'Healthy', ec2('running'), 'running'],
    ['InService', 'Unhealthy', ec2('running'), 'timeout'],
    ['InService', 'Healthy', ec2('stopped'), 'timeout'],
    ['Quarantined', 'Healthy', ec2('running'), 'timeout'],
    ['Standby', 'Healthy', ec2('running'), 'timeout'],
    ['Warmed:Pending', 'Healthy', ec2('pending'), 'timeout'],
    ['InService', 'Healthy', ec2('shutting-down'), 'deleting'],
    ['Terminating:Wait', 'Healthy', ec2('running'), 'deleting'],
    ['Detaching', 'Healthy', ec2('running'), 'deleting'],
    ['Terminated', 'Healthy', ec2('terminated'), 'deleted'],
    ['InService', 'Unhealthy', ec2('terminated'), 'deleted'],
  ];
  for (const [lifecycle, health, e, want] of cases) t.equal(instanceState(lifecycle, health, e), want, `${lifecycle}/${health}/${e?.state ?? '-'}`);
});

t.test('retries: throttling backs off exponentially on the clock, other errors are not retried', async (t) => {
  const clock = new FakeClock();
  const policy = { throttledAttempts: 4, transientAttempts: 2, baseDelayMs: 100, maxDelayMs: 300 };
  const throttle = () => new ThrottlingException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 429 } });
  const times: number[] = [];
  let left = 3;
  const done = withRetry(
    'calling',
    async () => {
      times.push(clock.now());
      if (left-- > 0) throw throttle();
      return 'ok';
    },
    { policy, clock, logger: nullLogger, random: () => 1 },
  );
  await clock.advance(1000);
  t.equal(await done, 'ok');
  t.same(times.map((x) => x - times[0]!), [0, 100, 300, 600], 'delays 100, 200, then capped at 300');

  const exhausted = withRetry('calling', () => Promise.reject(throttle()), { policy, clock, logger: nullLogger, random: () => 0 });
  const seen = t.rejects(exhausted, { code: 'unavailable', message: /^calling: ThrottlingException: Rate exceeded \(after 4 attempts\)$/ });
  await clock.advance(1000);
  await seen;

  let calls = 0;
  const validation = new AutoScalingServiceException({ name: 'ValidationError', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'bad' });
  await t.rejects(
    withRetry('calling', () => (calls++, Promise.reject(validation)), { policy, clock, logger: nullLogger }),
    { code: 'invalid_argument', message: 'calling: ValidationError: bad' },
  );
  t.equal(calls, 1, 'a validation error is final');

  const ac = new AbortController();
  const aborted = withRetry('calling', () => Promise.reject(throttle()), { policy, clock, logger: nullLogger, signal: ac.signal });
  const rejected = t.rejects(aborted, { name: 'AbortError' });
  await clock.advance(0);
  ac.abort(new DOMException('stop', 'AbortError'));
  await rejected;
  t.equal(clock.pendingTimers, 0, 'no timer left behind');
});

t.test('keys: generated ed25519 keys read by ssh2, public lines of OpenSSH and PEM keys', async (t) => {
  const kp = generateEd25519('c');
  const parsed = ssh2.utils.parseKey(kp.privateKey);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error) throw new Error('ssh2 cannot read the generated key');
  // The generated line carries the comment after the key material.
  t.equal(`${key.type} ${key.getPublicSSH().toString('base64')} c`, kp.publicKey);
  t.equal(`${publicKeyLineOf(kp.privateKey, 'k')} c`, kp.publicKey, 'from the OpenSSH header');
  for (const [type, pem] of [
    ['ssh-rsa', generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' })],
    ['ecdsa-sha2-nistp256', generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'sec1', format: 'pem' })],
  ] as const) {
    const k = ssh2.utils.parseKey(pem);
    const ref = Array.isArray(k) ? k[0] : k;
    if (!ref || ref instanceof Error) throw new Error(`ssh2 cannot read the ${type} key`);
    t.equal(publicKeyLineOf(Buffer.from(pem), 'k'), `${type} ${ref.getPublicSSH().toString('base64')}`, type);
  }
  t.throws(() => publicKeyLineOf('not a key', 'connector_config key'), { code: 'invalid_argument', message: /^reading connector_config key: / });
});

t.test('Windows password: PKCS#1 v1.5 data from GetPasswordData decrypts with the key pair', async (t) => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const data = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, Buffer.from('S3cret!pässword')).toString('base64');
  const pem = privateKey.export({ type: 'pkcs1', format: 'pem' });
  t.equal(decryptWindowsPassword(data, Buffer.from(pem)), 'S3cret!pässword');
  t.equal(decryptWindowsPassword(data, privateKey.export({ type: 'pkcs8', format: 'pem' })), 'S3cret!pässword', 'PKCS#8 too');
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' });
  t.throws(() => decryptWindowsPassword(data, other), { message: /bad padding/ });
  t.throws(() => decryptWindowsPassword(data, generateEd25519('x').privateKey), { code: 'invalid_argument', message: /RSA key in PEM format/ });
});
