import t from 'tap';
import {
  sectionStart,
  sectionEnd,
  sectionHeader,
  colour,
  warningLine,
  mapFailureReason,
  serverRetryDelay,
  backoffDelay,
  isRetryableStatus,
  normalizeBaseUrl,
  runnerInfo,
  timestampPrefix,
} from '../src/index.js';

t.test('section markers use GitLab’s exact bytes', async (t) => {
  t.equal(sectionStart('get_sources', 1700000000.9), 'section_start:1700000000:get_sources\r\x1b[0K');
  t.equal(sectionEnd('get_sources', 1700000005), 'section_end:1700000005:get_sources\r\x1b[0K');
  t.equal(sectionStart('step_script', 1, { collapsed: true, hideDuration: true }), 'section_start:1:step_script[collapsed=true,hide_duration=true]\r\x1b[0K');
  t.equal(sectionHeader('prepare_executor', 'Preparing the "instance" executor', 1700000000000), 'section_start:1700000000:prepare_executor\r\x1b[0K\x1b[36;1mPreparing the "instance" executor\x1b[0;m\n');
  t.throws(() => sectionStart('bad name', 1), RangeError, 'spaces are not allowed in section names');
  t.equal(colour('boldGreen', 'Job succeeded'), '\x1b[32;1mJob succeeded\x1b[0;m');
  t.equal(warningLine('careful'), '\x1b[33;1mWARNING: careful\x1b[0;m\n');
});

t.test('timestamped line prefixes follow FF_TIMESTAMPS', async (t) => {
  const at = Date.UTC(2026, 0, 2, 3, 4, 5, 67);
  t.equal(timestampPrefix(at, 0, 'O'), '2026-01-02T03:04:05.067000Z 00O ');
  t.equal(timestampPrefix(at, 1, 'E', true), '2026-01-02T03:04:05.067000Z 01E+');
  t.equal(timestampPrefix(at, 255, 'O'), '2026-01-02T03:04:05.067000Z ffO ');
  t.throws(() => timestampPrefix(at, 256, 'O'), RangeError);
});

t.test('failure reasons map to what GitLab accepts', async (t) => {
  const cases: [string | undefined, string[], string][] = [
    [undefined, [], 'script_failure'],
    ['', ['runner_system_failure'], 'script_failure'],
    ['script_failure', [], 'script_failure'],
    ['job_execution_timeout', [], 'job_execution_timeout'],
    ['image_pull_failure', ['image_pull_failure'], 'image_pull_failure'],
    ['image_pull_failure', [], 'runner_system_failure'],
    ['runner_external_dependency_failure', [], 'runner_system_failure'],
    ['runner_configuration_error', [], 'script_failure'],
    ['runner_interrupted', [], 'unknown_failure'],
    ['runner_interrupted', ['runner_interrupted'], 'runner_interrupted'],
    ['job_canceled', ['script_failure'], 'unknown_failure'],
  ];
  for (const [reason, supported, want] of cases) t.equal(mapFailureReason(reason, supported), want, `${reason ?? '(none)'} with [${supported.join(',')}]`);
});

t.test('retry decisions follow GitLab Runner', async (t) => {
  t.same([408, 429, 500, 502, 503, 504, 512, 599].map(isRetryableStatus), Array(8).fill(true));
  t.same([200, 201, 204, 400, 401, 403, 404, 409, 416, 501, 505, 511].map(isRetryableStatus), Array(12).fill(false));
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);
  const h = (o: Record<string, string>) => new Headers(o);
  t.same(serverRetryDelay(h({ 'Retry-After': '7' }), now), { delayMs: 7000, source: 'retry-after' });
  t.same(serverRetryDelay(h({ 'Retry-After': 'Thu, 01 Jan 2026 12:00:30 GMT' }), now), { delayMs: 30000, source: 'retry-after' });
  t.same(serverRetryDelay(h({ 'RateLimit-ResetTime': 'Thu, 01 Jan 2026 12:01:00 GMT', 'Retry-After': '7' }), now), { delayMs: 60000, source: 'ratelimit-resettime' }, 'RateLimit-ResetTime wins');
  t.equal(serverRetryDelay(h({ 'Retry-After': 'soon' }), now), undefined);
  t.equal(serverRetryDelay(h({ 'Retry-After': '0' }), now), undefined);
  t.equal(serverRetryDelay(h({}), now), undefined);
  t.equal(backoffDelay(0, () => 0.999), 100, 'first backoff is the minimum');
  t.equal(backoffDelay(3, () => 1), 800);
  t.equal(backoffDelay(30, () => 1), 60000, 'capped at 60 s');
  t.equal(backoffDelay(3, () => 0), 100, 'jitter reaches down to the minimum');
});

t.test('base URLs are normalised like GitLab Runner does', async (t) => {
  t.equal(normalizeBaseUrl('https://gitlab.example.com/'), 'https://gitlab.example.com');
  t.equal(normalizeBaseUrl('https://gitlab.example.com/ci'), 'https://gitlab.example.com');
  t.equal(normalizeBaseUrl('https://example.com/gitlab/ci/'), 'https://example.com/gitlab');
  t.throws(() => normalizeBaseUrl('ftp://example.com'), { code: 'invalid_argument' });
  t.throws(() => normalizeBaseUrl('not a url'), { code: 'invalid_argument' });
});

t.test('runner info advertises the instance executor’s features', async (t) => {
  const info = runnerInfo({ version: '1.2.3' });
  t.equal(info.name, 'gitlab-runner');
  t.equal(info.executor, 'instance');
  t.equal(info.shell, 'bash');
  t.equal(info.features.two_phase_job_commit, true);
  t.equal(info.features.cancel_gracefully, true);
  t.equal(info.features.image, false);
  t.equal(runnerInfo({ version: '1', features: { image: true } }).features.image, true, 'overrides merge');
});
