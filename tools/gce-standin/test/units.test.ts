import { createSign } from 'node:crypto';
import t from 'tap';
import { authenticate, newServiceAccountKey, parseStandinArgs } from '../src/index.js';

function jwt(key: string, kid: string, claims: Record<string, unknown>): string {
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const head = `${enc({ alg: 'RS256', typ: 'JWT', kid })}.${enc(claims)}`;
  return `${head}.${createSign('RSA-SHA256').update(head).sign(key).toString('base64url')}`;
}

t.test('self-signed service account JWTs: key id, issuer, signature, expiry, audience or scope', async (t) => {
  const { file, account } = newServiceAccountKey('p-project');
  const now = Date.UTC(2026, 0, 1);
  const exp = now / 1000 + 3600;
  const base = { iss: file.client_email, sub: file.client_email, iat: now / 1000, exp };
  const ok = (claims: Record<string, unknown>, kid = file.private_key_id, key = file.private_key) => authenticate(`Bearer ${jwt(key, kid, claims)}`, [account], new Set(), now);
  t.equal(ok({ ...base, aud: 'https://compute.googleapis.com/' }), file.client_email);
  t.equal(ok({ ...base, scope: 'https://www.googleapis.com/auth/compute' }), file.client_email);
  const other = newServiceAccountKey('p-project');
  const cases: [string, () => unknown, number, string][] = [
    ['no header', () => authenticate(undefined, [account], new Set(), now), 401, 'required'],
    ['expired', () => ok({ ...base, aud: 'https://compute.googleapis.com/', exp: now / 1000 - 1 }), 401, 'authError'],
    ['unknown key id', () => ok({ ...base, aud: 'https://compute.googleapis.com/' }, 'nope'), 401, 'authError'],
    ['signed by another key', () => ok({ ...base, aud: 'https://compute.googleapis.com/' }, file.private_key_id, other.file.private_key), 401, 'authError'],
    ['another service', () => ok({ ...base, aud: 'https://storage.googleapis.com/' }), 403, 'insufficientPermissions'],
    ['garbage', () => authenticate('Bearer x.y.z', [account], new Set(), now), 401, 'authError'],
  ];
  for (const [what, fn, status, reason] of cases) t.throws(fn, { name: 'Error', httpStatus: status, reason } as unknown as Error, what);
  t.equal(authenticate('Bearer tok', [account], new Set(['tok']), now), 'token', 'opaque tokens');
});

t.test('command line', async (t) => {
  const { options, logLevel } = parseStandinArgs([
    '--group', 'a,max=3,size=1,zone=europe-west1-c,boot-delay=500,platform=windows,paginated,no-external-ip',
    '--throttle', 'count=5,methods=instanceGroupManagers.resize+instances.get,status=503,retry-after=2',
    '--ssh-port', '2222', '--token', 't1', '--operation-delay', '100', '--log-level', 'debug',
  ]);
  t.same(options.groups, [{ name: 'a', quota: 3, targetSize: 1, zone: 'europe-west1-c', bootDelayMs: 500, platform: 'windows', listManagedInstancesResults: 'PAGINATED', externalIp: false }]);
  t.same(options.throttle, [{ count: 5, actions: ['instanceGroupManagers.resize', 'instances.get'], status: 503, retryAfterSeconds: 2 }]);
  t.equal(options.sshPort, 2222);
  t.same(options.tokens, ['t1']);
  t.equal(options.operationDelayMs, 100);
  t.equal(logLevel, 'debug');
  t.throws(() => parseStandinArgs(['--group', 'a,colour=red']), /unknown setting/);
});
