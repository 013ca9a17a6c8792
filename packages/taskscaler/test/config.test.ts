import t from 'tap';
import { resolveConfig, DEFAULT_BUCKETS } from '../src/index.js';

t.test('defaults, and 0 keeps the default', async (t) => {
  for (const c of [{}, { capacityPerInstance: 0, instanceAcquireTimeoutMs: 0, updateIntervalMs: 0, failureThreshold: 0, scaleThrottle: { limit: 0, burst: 0 } }]) {
    t.match(resolveConfig(c), {
      capacityPerInstance: 1,
      maxUseCount: 0,
      maxInstances: 0,
      instanceAcquireTimeoutMs: 900_000,
      updateIntervalMs: 60_000,
      updateIntervalWhenExpectingMs: 2_000,
      deletionRetryIntervalMs: 60_000,
      shutdownDeletionIntervalMs: 10_000,
      shutdownDeletionRetries: 3,
      failureThreshold: 3,
      reservationThrottling: true,
      deleteInstancesOnShutdown: false,
      throttleLimit: 100,
      throttleBurst: 100,
      stateStorage: { enabled: true, keepInstanceWithAcquisitions: false, minSaveIntervalMs: 1_000 },
      histogramBuckets: { readinessSeconds: DEFAULT_BUCKETS },
    });
  }
  t.equal(resolveConfig({ instanceAcquireTimeoutMs: -5 }).instanceAcquireTimeoutMs, 900_000, 'instance_acquire_timeout ≤ 0 → 15m');
  t.equal(resolveConfig({ maxInstances: 20 }).throttleBurst, 20, 'burst defaults to max_instances');
  t.equal(resolveConfig({ scaleThrottle: { limit: -1 } }).throttleLimit, Infinity, '-1 = unlimited');
});

t.test('invalid values name the TOML key', async (t) => {
  const cases: [string, Parameters<typeof resolveConfig>[0], RegExp][] = [
    ['negative capacity', { capacityPerInstance: -1 }, /^capacity_per_instance: must be an integer ≥ 0/],
    ['fractional max instances', { maxInstances: 1.5 }, /^max_instances: /],
    ['bad throttle limit', { scaleThrottle: { limit: -2 } }, /^scale_throttle\.limit: /],
    ['NaN interval', { updateIntervalMs: Number.NaN }, /^update_interval: must be a finite number/],
    ['bad policy', { policies: [{ idleCount: -1 }] }, /^policy\[0\]\.idle_count/],
    ['buckets not increasing', { histogramBuckets: { readinessSeconds: [5, 1] } }, /^instance_readiness_time_buckets: must be increasing/],
  ];
  for (const [name, c, re] of cases) t.throws(() => resolveConfig(c), { code: 'invalid_argument', message: re }, name);
});
