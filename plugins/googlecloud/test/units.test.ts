import t from 'tap';
import { FakeClock, nullLogger } from '@fleetrunner/common';
import { computeEndpoint, instanceState, parseGceConfig, withRetry, withSshKey, type ManagedView } from '../src/index.js';
import { parseSshKeys } from '@fleetrunner/gce-standin';
import { generateEd25519 } from '@fleetrunner/testing';

t.test('plugin_config: upstream keys, name/project/zone required, unknown keys warned about', async (t) => {
  t.same(parseGceConfig({ name: 'runners', project: 'my-project', zone: 'europe-west1-c', credentials_file: '/k.json' }), {
    name: 'runners',
    project: 'my-project',
    zone: 'europe-west1-c',
    credentialsFile: '/k.json',
  });
  const warnings: string[] = [];
  t.same(parseGceConfig('{"name":"g","project":"my-project","zone":"us-east1-b","endpoint":"x"}', warnings), { name: 'g', project: 'my-project', zone: 'us-east1-b' });
  t.same(warnings, ['plugin_config.endpoint: unknown key, ignored (expected one of name, project, zone, credentials_file)']);
  const cases: [string, unknown, RegExp][] = [
    ['nothing', {}, /^plugin_config\.name: required .*; plugin_config\.project: required .*; plugin_config\.zone: required/],
    ['a region for a zone (the docs slip)', { name: 'g', project: 'my-project', zone: 'europe-west1' }, /plugin_config\.zone: expected a zone like "europe-west1-c", got "europe-west1" \(that is a region/],
    ['wrong type', { name: 'g', project: 5, zone: 'us-east1-b' }, /plugin_config\.project: expected a non-empty string, got 5/],
    ['bad name', { name: 'My_Group', project: 'my-project', zone: 'us-east1-b' }, /plugin_config\.name: expected an instance group name/],
  ];
  for (const [what, raw, msg] of cases) t.throws(() => parseGceConfig(raw), { code: 'invalid_argument', message: msg }, what);
});

t.test('endpoint: gcloud’s CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE', async (t) => {
  const env = (v: string) => ({ CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE: v });
  t.equal(computeEndpoint({}), undefined);
  t.same(computeEndpoint(env('http://127.0.0.1:8080/compute/v1/')), { apiEndpoint: '127.0.0.1', port: 8080, protocol: 'http' });
  t.same(computeEndpoint(env('https://compute-psc.p.googleapis.com/')), { apiEndpoint: 'compute-psc.p.googleapis.com', port: 443, protocol: 'https' });
  t.throws(() => computeEndpoint(env('https://x/compute/beta/')), { code: 'invalid_argument', message: /CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE: the path must be \/compute\/v1\// });
  t.throws(() => computeEndpoint(env('not a url')), { message: /expected a URL/ });
});

t.test('instance states from currentAction, instanceStatus, the last attempt', async (t) => {
  const m = (currentAction: string, instanceStatus = '', lastError = ''): ManagedView => ({ name: 'x', id: '1', currentAction, instanceStatus, lastError });
  const cases: [ManagedView, string][] = [
    [m('CREATING'), 'creating'],
    [m('CREATING', 'PROVISIONING'), 'creating'],
    [m('VERIFYING', 'RUNNING'), 'creating'],
    [m('NONE', 'STAGING'), 'creating'],
    [m('NONE', 'RUNNING'), 'running'],
    [m('NONE', 'TERMINATED'), 'timeout'],
    [m('NONE', 'SUSPENDED'), 'timeout'],
    [m('RECREATING'), 'timeout'],
    [m('CREATING', '', "QUOTA_EXCEEDED: Quota 'CPUS' exceeded."), 'timeout'],
    [m('CREATING', '', 'TRANSIENT_ERROR: try again'), 'creating'],
    [m('DELETING', 'STOPPING'), 'deleting'],
    [m('ABANDONING', 'RUNNING'), 'deleting'],
  ];
  for (const [v, want] of cases) t.equal(instanceState(v), want, `${v.currentAction}/${v.instanceStatus}/${v.lastError}`);
});

t.test('ssh-keys metadata: the key is added for its user with an expiry the guest agent (and the stand-in) honour', async (t) => {
  const key = generateEd25519('c');
  const line = key.publicKey.split(' ').slice(0, 2).join(' ');
  const other = generateEd25519('o').publicKey;
  const before = { fingerprint: 'f', items: [{ key: 'startup-script', value: 'echo' }, { key: 'ssh-keys', value: `admin:${other}\nci:${line} google-ssh {"userName":"ci","expireOn":"2020-01-01T00:00:00+0000"}` }] };
  const after = withSshKey(before, 'ci', line, Date.UTC(2030, 0, 1));
  t.equal(after.fingerprint, 'f');
  t.same(after.items[0], { key: 'startup-script', value: 'echo' }, 'other items are kept');
  const value = after.items.find((i) => i.key === 'ssh-keys')!.value;
  t.equal(value, `admin:${other}\nci:${line} google-ssh {"userName":"ci","expireOn":"2030-01-01T00:00:00+0000"}`, 'the old line of the key is replaced, other keys kept');
  const parsed = parseSshKeys(value);
  t.same(parsed.map((k) => [k.user, k.expiresAt]), [['admin', undefined], ['ci', Date.UTC(2030, 0, 1)]]);
});

t.test('retries: the project back-off on the clock, Retry-After, final errors not retried', async (t) => {
  const clock = new FakeClock();
  const policy = { throttledAttempts: 4, transientAttempts: 2, baseDelayMs: 100, maxDelayMs: 300, maxRetryAfterMs: 5000 };
  const http = (status: number, reason: string, retryAfter?: string) =>
    Object.assign(new Error(JSON.stringify({ error: { code: status, message: `m${status}`, errors: [{ reason }] } })), {
      code: status,
      status,
      response: { status, headers: new Headers(retryAfter ? { 'retry-after': retryAfter } : {}) },
    });
  const times: number[] = [];
  let left = 3;
  const done = withRetry('calling', async () => {
    times.push(clock.now());
    if (left-- > 0) throw http(429, 'rateLimitExceeded', left === 0 ? '2' : undefined);
    return 'ok';
  }, { policy, clock, logger: nullLogger, random: () => 1 });
  await clock.advance(5000);
  t.equal(await done, 'ok');
  t.same(times.map((x) => x - times[0]!), [0, 100, 300, 2300], 'delays 100, 200, then the Retry-After of 2 s');

  let calls = 0;
  await t.rejects(withRetry('calling', () => (calls++, Promise.reject(http(403, 'forbidden'))), { policy, clock, logger: nullLogger }), {
    code: 'auth_failed',
    message: 'calling: 403 forbidden: m403',
  });
  t.equal(calls, 1, 'a permission error is final');
  await t.rejects(withRetry('calling', () => Promise.reject(http(404, 'notFound')), { policy, clock, logger: nullLogger }), { code: 'not_found' });
  await t.rejects(withRetry('calling', () => Promise.reject(http(403, 'quotaExceeded')), { policy, clock, logger: nullLogger }), { code: 'no_capacity' });
  const exhausted = withRetry('calling', () => Promise.reject(http(503, 'backendError')), { policy, clock, logger: nullLogger, random: () => 0 });
  const seen = t.rejects(exhausted, { code: 'unavailable', message: 'calling: 503 backendError: m503 (after 2 attempts)' });
  await clock.advance(1000);
  await seen;
  const ac = new AbortController();
  const aborted = withRetry('calling', () => Promise.reject(http(429, 'rateLimitExceeded')), { policy, clock, logger: nullLogger, signal: ac.signal });
  const rejected = t.rejects(aborted, { name: 'AbortError' });
  await clock.advance(0);
  ac.abort(new DOMException('stop', 'AbortError'));
  await rejected;
  t.equal(clock.pendingTimers, 0, 'no timer left behind');
});
