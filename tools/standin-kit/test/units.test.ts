import { generateKeyPairSync } from 'node:crypto';
import t from 'tap';
import ssh2 from 'ssh2';
import { generateEd25519 } from '@fleetrunner/testing';
import { AddressPool, Faults, PushedKeys, parseSshPublicKey, rsaPublicKey } from '../src/index.js';

t.test('throttle rules: storms are spent, every-Nth counts matching calls only', async (t) => {
  const f = new Faults();
  f.addThrottle({ count: 2, actions: ['ec2:*'] });
  f.addThrottle({ every: 3, actions: ['SetDesiredCapacity'] });
  const got = [
    f.throttle('ec2', 'DescribeInstances'),
    f.throttle('autoscaling', 'SetDesiredCapacity'),
    f.throttle('ec2', 'GetPasswordData'),
    f.throttle('ec2', 'DescribeInstances'),
    f.throttle('autoscaling', 'SetDesiredCapacity'),
    f.throttle('autoscaling', 'SetDesiredCapacity'),
  ];
  t.same(got, [true, false, true, false, false, true]);
  t.equal(f.throttled, 3);
  t.throws(() => f.addThrottle({}), /exactly one/);
  t.throws(() => f.addThrottle({ count: -1 }), /non-negative/);
});

t.test('throttle rules carry the answer a stand-in gives (status, Retry-After)', async (t) => {
  const f = new Faults();
  f.addThrottle({ count: 1, status: 503, retryAfterSeconds: 2 });
  f.addThrottle({ every: 2, actions: ['compute:resize'] });
  t.same(f.match('compute', 'resize'), { count: 1, status: 503, retryAfterSeconds: 2 }, 'the first matching rule answers');
  t.same(f.match('compute', 'resize'), { every: 2, actions: ['compute:resize'] });
  t.equal(f.match('compute', 'get'), undefined);
  t.throws(() => f.addThrottle({ count: 1, status: -1 }), /status must be a non-negative integer/);
});

t.test('addresses: lowest free first, reused after release, only inside 127/8', async (t) => {
  const pool = new AddressPool('127.90.99.252/30');
  t.equal(pool.take(), '127.90.99.253');
  t.equal(pool.take(), '127.90.99.254');
  t.equal(pool.take(), undefined);
  pool.release('127.90.99.253');
  t.equal(pool.take(), '127.90.99.253');
  t.throws(() => new AddressPool('10.0.0.0/8'), /inside 127.0.0.0\/8/);
});

t.test('public keys: what Instance Connect accepts, and RSA keys for Windows passwords', async (t) => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const parsed = ssh2.utils.parseKey(rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }));
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error) throw new Error('ssh2 cannot read the key');
  const line = `ssh-rsa ${key.getPublicSSH().toString('base64')} me@host`;
  t.equal(parseSshPublicKey(line)?.type, 'ssh-rsa');
  t.equal(parseSshPublicKey('ssh-dss AAAA'), undefined);
  const fromLine = rsaPublicKey(line)!.export({ format: 'jwk' });
  t.equal(fromLine.n, rsa.publicKey.export({ format: 'jwk' }).n, 'an ssh-rsa line gives the same RSA key');
  t.ok(rsaPublicKey(rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString()), 'so does a PEM public key');
});

t.test('pushed keys: per user, until they expire', async (t) => {
  const parsed = parseSshPublicKey(generateEd25519('k').publicKey)!;
  const keys = new PushedKeys();
  keys.add('runner', parsed, 1000);
  t.ok(keys.allows('runner', parsed.blob, 999));
  t.notOk(keys.allows('root', parsed.blob, 999), 'only for its user');
  t.notOk(keys.allows('runner', parsed.blob, 1000), 'expired');
});
