import t from 'tap';
import { FakeClock, createLogger, type LogEntry } from '@fleetrunner/common';
import { parseConfig } from '@fleetrunner/config';
import { TokenRotation, setRunnerTokenKeys, tokenResetAt } from '../src/token-rotation.js';

const TEXT = `concurrent = 2

# first
[[runners]]
  name = "a"
  url = "https://gitlab.example.com"
  token = "glrt-aaaaaaaaaaaaaaaaaaaa"
  token_obtained_at = 2026-01-01T00:00:00Z
  token_expires_at = 2026-02-01T00:00:00Z
  executor = "instance"
  [runners.autoscaler]
    plugin = "local"
    # token = "not this one"

[[runners]]
  name = "b"
  url = "https://gitlab.example.com"
  token = "glrt-bbbbbbbbbbbbbbbbbbbb"
  executor = "instance"
  [runners.autoscaler]
    plugin = "local"
`;

t.test('setRunnerTokenKeys replaces or adds the token keys of one entry and leaves every other byte', async (t) => {
  const keys = { token: 'glrt-new', obtainedAt: new Date('2026-03-04T05:06:07.890Z'), expiresAt: new Date('2026-04-01T00:00:00Z') };
  const a = setRunnerTokenKeys(TEXT, 0, keys);
  t.equal(
    a,
    TEXT.replace('token = "glrt-aaaaaaaaaaaaaaaaaaaa"', 'token = "glrt-new"')
      .replace('token_obtained_at = 2026-01-01T00:00:00Z', 'token_obtained_at = 2026-03-04T05:06:07Z')
      .replace('token_expires_at = 2026-02-01T00:00:00Z', 'token_expires_at = 2026-04-01T00:00:00Z'),
  );
  const b = setRunnerTokenKeys(TEXT, 1, keys);
  t.equal(b, TEXT.replace('  token = "glrt-bbbbbbbbbbbbbbbbbbbb"\n', '  token = "glrt-new"\n  token_obtained_at = 2026-03-04T05:06:07Z\n  token_expires_at = 2026-04-01T00:00:00Z\n'), 'missing keys go after token');
  const noExpiry = setRunnerTokenKeys(TEXT, 0, { ...keys, expiresAt: undefined });
  t.notMatch(noExpiry, /token_expires_at = 2026-02/, 'a token without expiry drops the key');
  t.match(noExpiry, /# token = "not this one"/, 'sub-table lines are not touched');
  t.throws(() => setRunnerTokenKeys(TEXT, 2, keys), /runners\[2\]: no \[\[runners\]\] table/);
  const parsed = parseConfig(b, { env: {} });
  t.equal(parsed.config?.runners[1]?.token, 'glrt-new', 'the result loads');
});

t.test('tokenResetAt: 75 % of the lifetime; none without an expiry', async (t) => {
  t.equal(tokenResetAt({ tokenObtainedAt: 1000, tokenExpiresAt: 5000 }, 0), 4000);
  t.equal(tokenResetAt({ tokenObtainedAt: undefined, tokenExpiresAt: 5000 }, 1000), 4000, 'without obtained: from when it was loaded');
  t.equal(tokenResetAt({ tokenObtainedAt: 1000, tokenExpiresAt: undefined }, 0), undefined);
});

t.test('TokenRotation: far deadlines re-arm in steps; FF_DISABLE_AUTOMATIC_TOKEN_ROTATION only warns, once', async (t) => {
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  const logs: LogEntry[] = [];
  const logger = createLogger({ level: 'debug', sink: (e) => logs.push(e) });
  let rotated = 0;
  const rotation = new TokenRotation({ configFile: '/nonexistent/config.toml', clock, logger, env: {}, systemId: () => 's_x', version: { version: '1', revision: 'r' }, onRotated: async () => void rotated++ });
  const base = parseConfig(TEXT, { env: {} }).config!.runners[0]!;
  const day = 24 * 3600 * 1000;
  // 100 days to live: due at day 75; a single timer that long would overflow setTimeout.
  rotation.update([{ ...base, url: 'http://127.0.0.1:9', tokenObtainedAt: clock.now(), tokenExpiresAt: clock.now() + 100 * day, featureFlags: { FF_DISABLE_AUTOMATIC_TOKEN_ROTATION: true } }]);
  t.equal(clock.pendingTimers, 1);
  await clock.advance(74 * day);
  t.equal(logs.filter((e) => e.level === 'warn').length, 0, 'nothing before it is due');
  t.equal(clock.pendingTimers, 1, 're-armed');
  await clock.advance(2 * day);
  const warns = logs.filter((e) => e.msg.includes('FF_DISABLE_AUTOMATIC_TOKEN_ROTATION'));
  t.equal(warns.length, 1, 'one warning once due');
  t.equal(rotated, 0, 'no reset');
  t.notOk(logs.some((e) => e.msg.includes('rotating the runner token')), 'GitLab was not asked');
  await clock.advance(30 * day);
  t.equal(logs.filter((e) => e.msg.includes('FF_DISABLE_AUTOMATIC_TOKEN_ROTATION')).length, 1, 'not repeated');
  t.equal(clock.pendingTimers, 0, 'nothing left to wait for');
  await rotation.stop();
});
