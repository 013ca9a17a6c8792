import t from 'tap';
import { DEFAULTS, isFeatureFlagOn, parseConfig, type RunnerConfig } from '../src/index.js';

const MINIMAL = `
[[runners]]
url = "https://gitlab.example.com"
token = "glrt-abc"
executor = "instance"
[runners.autoscaler]
plugin = "aws"
capacity_per_instance = 1
`;

/** The documented connector_config defaults (of the autoscaler and of vm_isolation). */
const DEFAULT_CONNECTOR = {
  os: '',
  arch: '',
  protocol: 'ssh',
  protocolPort: 0,
  username: '',
  password: '',
  keyPath: '',
  useStaticCredentials: false,
  keepaliveMs: 0,
  timeoutMs: 0,
  useExternalAddr: false,
};

function load(src: string): RunnerConfig {
  const r = parseConfig(src, { file: '/etc/fleetrunner/config.toml', env: {} });
  if (r.config === undefined || r.errors.length > 0) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

t.test('a minimal config gets every documented default', async (t) => {
  const c = load(MINIMAL);
  t.match(c, {
    concurrent: 1,
    checkIntervalMs: 3000,
    shutdownTimeoutMs: 30_000,
    listenAddress: '',
    logLevel: 'info',
    logFormat: 'runner',
    connectionMaxAgeMs: 900_000,
    sentryDsn: '',
    source: { file: '/etc/fleetrunner/config.toml', dir: '/etc/fleetrunner' },
  });
  const r = c.runners[0];
  t.match(r, {
    name: '',
    id: 0,
    tokenObtainedAt: undefined,
    limit: 0,
    requestConcurrency: 1,
    strictCheckInterval: false,
    outputLimitKb: 4096,
    shell: 'bash',
    buildsDir: 'builds',
    cacheDir: 'cache',
    environment: [],
    prepareTimeoutMs: 0,
    unhealthyRequestsLimit: 3,
    unhealthyIntervalMs: 3_600_000,
    jobStatusFinalUpdateRetryLimit: 10,
    cleanGitConfig: true,
    safeDirectoryCheckout: false,
    customBuildDirEnabled: false,
    slotCgroupTemplate: 'gitlab-runner/slot-${slot}',
    featureFlags: {},
    cache: undefined,
    artifact: { uploadTimeoutMs: 3_600_000, responseHeaderTimeoutMs: 600_000 },
    instance: { allowedImages: [], useCommonBuildDir: false },
  });
  t.same(r?.autoscaler, {
    plugin: 'aws',
    pluginConfig: {},
    capacityPerInstance: 1,
    maxUseCount: 0,
    maxInstances: 0,
    instanceReadyCommand: '',
    instanceAcquireTimeoutMs: 900_000,
    updateIntervalMs: 60_000,
    updateIntervalWhenExpectingMs: 2000,
    deletionRetryIntervalMs: 60_000,
    shutdownDeletionIntervalMs: 10_000,
    shutdownDeletionRetries: 3,
    failureThreshold: 3,
    reservationThrottling: true,
    deleteInstancesOnShutdown: false,
    logInternalIp: false,
    logExternalIp: false,
    connectorConfig: DEFAULT_CONNECTOR,
    policies: [],
    scaleThrottle: { limitPerSecond: 100, burst: 100 },
    stateStorage: { enabled: true, dir: '/etc/fleetrunner/.taskscaler', keepInstanceWithAcquisitions: false },
    vmIsolation: {
      enabled: false,
      nestingHost: '',
      nestingConfig: {},
      image: '',
      connectorConfig: DEFAULT_CONNECTOR,
    },
    buckets: { instanceCreation: [], instanceIsRunning: [], instanceDeletion: [], instanceReadiness: [], instanceLifeDuration: [] },
  });
  t.equal(DEFAULTS.stateStorageEnabled, true, 'state storage is on by default in fleetrunner');
});

t.test('zero keeps the default; explicit values win', async (t) => {
  const cases: Array<{ name: string; global?: string; runner?: string; autoscaler?: string; check: (c: RunnerConfig) => unknown; want: unknown }> = [
    { name: 'check_interval 0 → 3 s', global: 'check_interval = 0', check: (c) => c.checkIntervalMs, want: 3000 },
    { name: 'check_interval seconds → ms', global: 'check_interval = 10', check: (c) => c.checkIntervalMs, want: 10_000 },
    { name: 'shutdown_timeout -1 → 30 s', global: 'shutdown_timeout = -1', check: (c) => c.shutdownTimeoutMs, want: 30_000 },
    { name: 'connection_max_age 0 → unlimited', global: 'connection_max_age = "0s"', check: (c) => c.connectionMaxAgeMs, want: 0 },
    { name: 'listen_address host only gets port 9252', global: 'listen_address = "localhost"', check: (c) => c.listenAddress, want: 'localhost:9252' },
    { name: 'listen_address bracketed IPv6', global: 'listen_address = "[::]"', check: (c) => c.listenAddress, want: '[::]:9252' },
    { name: 'listen_address any host', global: 'listen_address = ":9000"', check: (c) => c.listenAddress, want: ':9000' },
    { name: 'request_concurrency 0 → 1', runner: 'request_concurrency = 0', check: (c) => c.runners[0]?.requestConcurrency, want: 1 },
    { name: 'output_limit 0 → 4096', runner: 'output_limit = 0', check: (c) => c.runners[0]?.outputLimitKb, want: 4096 },
    { name: 'Go zero time is unknown', runner: 'token_obtained_at = 0001-01-01T00:00:00Z', check: (c) => c.runners[0]?.tokenObtainedAt, want: undefined },
    { name: 'token expiry as epoch ms', runner: 'token_expires_at = 2025-03-01T10:00:00Z', check: (c) => c.runners[0]?.tokenExpiresAt, want: Date.UTC(2025, 2, 1, 10) },
    { name: 'instance_acquire_timeout 0 → 15 m', autoscaler: 'instance_acquire_timeout = "0s"', check: (c) => c.runners[0]?.autoscaler?.instanceAcquireTimeoutMs, want: 900_000 },
    { name: 'failure_threshold 0 → 3', autoscaler: 'failure_threshold = 0', check: (c) => c.runners[0]?.autoscaler?.failureThreshold, want: 3 },
    { name: 'reservation_throttling false', autoscaler: 'reservation_throttling = false', check: (c) => c.runners[0]?.autoscaler?.reservationThrottling, want: false },
    { name: 'windows means winrm', autoscaler: '[runners.autoscaler.connector_config]\nos = "windows"', check: (c) => c.runners[0]?.autoscaler?.connectorConfig.protocol, want: 'winrm' },
    { name: 'burst defaults to max_instances', autoscaler: 'max_instances = 7', check: (c) => c.runners[0]?.autoscaler?.scaleThrottle, want: { limitPerSecond: 100, burst: 7 } },
    { name: 'limit -1 is unlimited', autoscaler: '[runners.autoscaler.scale_throttle]\nlimit = -1', check: (c) => c.runners[0]?.autoscaler?.scaleThrottle, want: { limitPerSecond: Infinity, burst: 0 } },
    { name: 'explicit limit and burst', autoscaler: '[runners.autoscaler.scale_throttle]\nlimit = 2\nburst = 5', check: (c) => c.runners[0]?.autoscaler?.scaleThrottle, want: { limitPerSecond: 2, burst: 5 } },
    { name: 'state storage can be turned off', autoscaler: '[runners.autoscaler.state_storage]\nenabled = false', check: (c) => c.runners[0]?.autoscaler?.stateStorage.enabled, want: false },
    { name: 'relative state dir is under the config dir', autoscaler: '[runners.autoscaler.state_storage]\ndir = "state"', check: (c) => c.runners[0]?.autoscaler?.stateStorage.dir, want: '/etc/fleetrunner/state' },
    { name: 'absolute state dir stays', autoscaler: '[runners.autoscaler.state_storage]\ndir = "/var/lib/fr"', check: (c) => c.runners[0]?.autoscaler?.stateStorage.dir, want: '/var/lib/fr' },
    { name: 'bucket lists fall back to the operation list', autoscaler: 'instance_operation_time_buckets = [1, 5]\ninstance_deletion_time_buckets = [2.5]', check: (c) => c.runners[0]?.autoscaler?.buckets, want: { instanceCreation: [1, 5], instanceIsRunning: [1, 5], instanceDeletion: [2.5], instanceReadiness: [1, 5], instanceLifeDuration: [] } },
    { name: 'preemptive mode follows idle_count', autoscaler: '[[runners.autoscaler.policy]]\nidle_count = 0\n[[runners.autoscaler.policy]]\nidle_count = 1\n[[runners.autoscaler.policy]]\nidle_count = 1\npreemptive_mode = false', check: (c) => c.runners[0]?.autoscaler?.policies.map((p) => p.preemptiveMode), want: [false, true, false] },
    { name: 'policies as an inline array of tables', autoscaler: 'policy = [{ idle_count = 2 }, { idle_count = 0, idle_time = "5m" }]', check: (c) => c.runners[0]?.autoscaler?.policies.map((p) => [p.idleCount, p.idleTimeMs]), want: [[2, 0], [0, 300_000]] },
    { name: 'empty periods → always', autoscaler: '[[runners.autoscaler.policy]]\nperiods = []', check: (c) => c.runners[0]?.autoscaler?.policies[0]?.periods, want: ['* * * * *'] },
    { name: 'policy fields', autoscaler: '[[runners.autoscaler.policy]]\nperiods = ["* 8-17 * * mon-fri"]\ntimezone = "Europe/Berlin"\nidle_count = 4\nidle_time = "1h30m"\nscale_factor = 0.5\nscale_factor_limit = 10', check: (c) => c.runners[0]?.autoscaler?.policies[0], want: { periods: ['* 8-17 * * mon-fri'], timezone: 'Europe/Berlin', idleCount: 4, idleTimeMs: 5_400_000, scaleFactor: 0.5, scaleFactorLimit: 10, preemptiveMode: true } },
    { name: 'plugin_config stays raw JSON data', autoscaler: '[runners.autoscaler.plugin_config]\nname = "asg"\nsize = 3\nratio = 0.5\ntags = { team = "ci" }\nzones = ["a", "b"]\nsince = 2024-01-01T00:00:00Z', check: (c) => c.runners[0]?.autoscaler?.pluginConfig, want: { name: 'asg', size: 3, ratio: 0.5, tags: { team: 'ci' }, zones: ['a', 'b'], since: '2024-01-01T00:00:00Z' } },
    { name: 'labels merge over global ones', global: '[labels]\nteam = "a"\nenv = "prod"', runner: 'labels = { team = "b" }', check: (c) => c.runners[0]?.labels, want: { team: 'b', env: 'prod' } },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      // Global keys go before [[runners]]; runner keys right after it; autoscaler keys at the end.
      const lines = MINIMAL.split('\n');
      const src = [c.global ?? '', lines[1], c.runner ?? '', ...lines.slice(2), c.autoscaler ?? ''].join('\n');
      t.same(c.check(load(src)), c.want);
    });
  }
});

t.test('sentry_dsn falls back to the environment', async (t) => {
  const r = parseConfig(MINIMAL, { env: { SENTRY_DSN: 'https://key@sentry.example.com/1' } });
  t.equal(r.config?.sentryDsn, 'https://key@sentry.example.com/1');
});

t.test('feature flags: runner value, then job value, then default', async (t) => {
  const c = load(MINIMAL.replace('executor = "instance"', 'executor = "instance"\nfeature_flags = { FF_TIMESTAMPS = false }'));
  const flags = c.runners[0]?.featureFlags ?? {};
  t.same(flags, { FF_TIMESTAMPS: false });
  t.equal(isFeatureFlagOn('FF_TIMESTAMPS', flags, true), false, 'TOML beats the job variable');
  t.equal(isFeatureFlagOn('FF_ENABLE_JOB_CLEANUP', flags, true), true, 'job variable beats the default');
  t.equal(isFeatureFlagOn('FF_USE_ADAPTIVE_REQUEST_CONCURRENCY', flags), true, 'default');
  t.equal(isFeatureFlagOn('FF_USE_FLEETING_ACQUIRE_HEARTBEATS', flags), false, 'default');
  t.equal(isFeatureFlagOn('constructor', flags), false, 'not a flag');
});
