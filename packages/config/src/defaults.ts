import { isAbsolute, join, resolve } from 'node:path';
import type { DeepPartial } from './deep-partial.js';
import type { Env } from './env-expand.js';
import { normalizeListenAddress } from './listen-address.js';
import type {
  AutoscalerConfig,
  AutoscalerPolicy,
  CacheConfig,
  ConnectorSettings,
  RunnerConfig,
  RunnerEntry,
  ScaleThrottle,
} from './types.js';

const MINUTE = 60_000;

/** Documented defaults (GitLab Runner's, except `stateStorageEnabled`, which is ON in fleetrunner). */
export const DEFAULTS = {
  concurrent: 1,
  checkIntervalMs: 3_000,
  shutdownTimeoutMs: 30_000,
  logLevel: 'info',
  logFormat: 'runner',
  connectionMaxAgeMs: 15 * MINUTE,
  requestConcurrency: 1,
  outputLimitKb: 4096,
  shell: 'bash',
  buildsDir: 'builds',
  cacheDir: 'cache',
  unhealthyRequestsLimit: 3,
  unhealthyIntervalMs: 60 * MINUTE,
  jobStatusFinalUpdateRetryLimit: 10,
  slotCgroupTemplate: 'gitlab-runner/slot-${slot}',
  artifactUploadTimeoutMs: 60 * MINUTE,
  artifactResponseHeaderTimeoutMs: 10 * MINUTE,
  capacityPerInstance: 1,
  instanceAcquireTimeoutMs: 15 * MINUTE,
  updateIntervalMs: MINUTE,
  updateIntervalWhenExpectingMs: 2_000,
  deletionRetryIntervalMs: MINUTE,
  shutdownDeletionIntervalMs: 10_000,
  shutdownDeletionRetries: 3,
  failureThreshold: 3,
  scaleThrottleLimitPerSecond: 100,
  stateStorageEnabled: true,
  stateStorageDirName: '.taskscaler',
  policyPeriods: ['* * * * *'],
  s3AssumeRoleMaxConcurrency: 5,
  azureStorageDomain: 'blob.core.windows.net',
} as const;

/** Go's zero `time.Time` (`0001-01-01T00:00:00Z`), which `register` writes for "unknown". */
const GO_ZERO_TIME_MS = -62_135_596_800_000;

/** A positive value, else the default (upstream's "≤ 0 → default"). */
const pos = (v: number | undefined, d: number): number => (v !== undefined && v > 0 ? v : d);

/** Fills every absent or zero field with its documented default. `dir` is the config file's directory. */
export function applyDefaults(p: DeepPartial<RunnerConfig>, source: { file: string; dir: string }, env: Env): RunnerConfig {
  const listen = normalizeListenAddress(p.listenAddress ?? '');
  const globalLabels = stringRecord(p.labels);
  return {
    concurrent: p.concurrent ?? DEFAULTS.concurrent,
    checkIntervalMs: pos(p.checkIntervalMs, DEFAULTS.checkIntervalMs),
    shutdownTimeoutMs: pos(p.shutdownTimeoutMs, DEFAULTS.shutdownTimeoutMs),
    listenAddress: 'address' in listen ? listen.address : '',
    logLevel: p.logLevel ?? DEFAULTS.logLevel,
    logFormat: p.logFormat ?? DEFAULTS.logFormat,
    connectionMaxAgeMs: p.connectionMaxAgeMs === undefined ? DEFAULTS.connectionMaxAgeMs : Math.max(0, p.connectionMaxAgeMs),
    sentryDsn: p.sentryDsn ?? env['SENTRY_DSN'] ?? '',
    labels: globalLabels,
    runners: (p.runners ?? []).map((r) => runnerDefaults(r, source.dir, globalLabels)),
    source,
  };
}

function runnerDefaults(p: DeepPartial<RunnerEntry>, configDir: string, globalLabels: Record<string, string>): RunnerEntry {
  const time = (v: number | undefined): number | undefined => (v === undefined || v <= GO_ZERO_TIME_MS ? undefined : v);
  return {
    name: p.name ?? '',
    url: p.url ?? '',
    id: p.id ?? 0,
    token: p.token ?? '',
    tokenObtainedAt: time(p.tokenObtainedAt),
    tokenExpiresAt: time(p.tokenExpiresAt),
    tlsCaFile: p.tlsCaFile ?? '',
    tlsCertFile: p.tlsCertFile ?? '',
    tlsKeyFile: p.tlsKeyFile ?? '',
    executor: p.executor ?? '',
    limit: p.limit ?? 0,
    requestConcurrency: pos(p.requestConcurrency, DEFAULTS.requestConcurrency),
    strictCheckInterval: p.strictCheckInterval ?? false,
    outputLimitKb: pos(p.outputLimitKb, DEFAULTS.outputLimitKb),
    shell: p.shell ?? DEFAULTS.shell,
    buildsDir: p.buildsDir || DEFAULTS.buildsDir,
    cacheDir: p.cacheDir || DEFAULTS.cacheDir,
    environment: p.environment ?? [],
    preGetSourcesScript: p.preGetSourcesScript ?? '',
    postGetSourcesScript: p.postGetSourcesScript ?? '',
    preBuildScript: p.preBuildScript ?? '',
    postBuildScript: p.postBuildScript ?? '',
    cloneUrl: p.cloneUrl ?? '',
    prepareTimeoutMs: p.prepareTimeoutMs ?? 0,
    getSourcesTimeoutMs: p.getSourcesTimeoutMs ?? 0,
    unhealthyRequestsLimit: pos(p.unhealthyRequestsLimit, DEFAULTS.unhealthyRequestsLimit),
    unhealthyIntervalMs: pos(p.unhealthyIntervalMs, DEFAULTS.unhealthyIntervalMs),
    jobStatusFinalUpdateRetryLimit: pos(p.jobStatusFinalUpdateRetryLimit, DEFAULTS.jobStatusFinalUpdateRetryLimit),
    debugTraceDisabled: p.debugTraceDisabled ?? false,
    cleanGitConfig: p.cleanGitConfig ?? true,
    safeDirectoryCheckout: p.safeDirectoryCheckout ?? false,
    customBuildDirEnabled: p.customBuildDirEnabled ?? false,
    useSlotCgroups: p.useSlotCgroups ?? false,
    slotCgroupTemplate: p.slotCgroupTemplate || DEFAULTS.slotCgroupTemplate,
    labels: { ...globalLabels, ...stringRecord(p.labels) },
    featureFlags: { ...p.featureFlags } as Record<string, boolean>,
    cache: p.cache === undefined ? undefined : cacheDefaults(p.cache),
    artifact: {
      uploadTimeoutMs: p.artifact?.uploadTimeoutMs ?? DEFAULTS.artifactUploadTimeoutMs,
      responseHeaderTimeoutMs: p.artifact?.responseHeaderTimeoutMs ?? DEFAULTS.artifactResponseHeaderTimeoutMs,
    },
    instance: {
      allowedImages: p.instance?.allowedImages ?? [],
      useCommonBuildDir: p.instance?.useCommonBuildDir ?? false,
    },
    autoscaler: p.autoscaler === undefined ? undefined : autoscalerDefaults(p.autoscaler, configDir),
  };
}

function autoscalerDefaults(p: DeepPartial<AutoscalerConfig>, configDir: string): AutoscalerConfig {
  const maxInstances = p.maxInstances ?? 0;
  const dir = p.stateStorage?.dir || DEFAULTS.stateStorageDirName;
  return {
    plugin: p.plugin ?? '',
    pluginConfig: { ...p.pluginConfig },
    capacityPerInstance: pos(p.capacityPerInstance, DEFAULTS.capacityPerInstance),
    maxUseCount: p.maxUseCount ?? 0,
    maxInstances,
    instanceReadyCommand: p.instanceReadyCommand ?? '',
    instanceAcquireTimeoutMs: pos(p.instanceAcquireTimeoutMs, DEFAULTS.instanceAcquireTimeoutMs),
    updateIntervalMs: pos(p.updateIntervalMs, DEFAULTS.updateIntervalMs),
    updateIntervalWhenExpectingMs: pos(p.updateIntervalWhenExpectingMs, DEFAULTS.updateIntervalWhenExpectingMs),
    deletionRetryIntervalMs: pos(p.deletionRetryIntervalMs, DEFAULTS.deletionRetryIntervalMs),
    shutdownDeletionIntervalMs: pos(p.shutdownDeletionIntervalMs, DEFAULTS.shutdownDeletionIntervalMs),
    shutdownDeletionRetries: pos(p.shutdownDeletionRetries, DEFAULTS.shutdownDeletionRetries),
    failureThreshold: pos(p.failureThreshold, DEFAULTS.failureThreshold),
    reservationThrottling: p.reservationThrottling ?? true,
    deleteInstancesOnShutdown: p.deleteInstancesOnShutdown ?? false,
    logInternalIp: p.logInternalIp ?? false,
    logExternalIp: p.logExternalIp ?? false,
    connectorConfig: connectorDefaults(p.connectorConfig),
    policies: (p.policies ?? []).map(policyDefaults),
    scaleThrottle: throttleDefaults(p.scaleThrottle, maxInstances),
    stateStorage: {
      enabled: p.stateStorage?.enabled ?? DEFAULTS.stateStorageEnabled,
      dir: isAbsolute(dir) ? dir : resolve(join(configDir, dir)),
      keepInstanceWithAcquisitions: p.stateStorage?.keepInstanceWithAcquisitions ?? false,
    },
    vmIsolation: {
      enabled: p.vmIsolation?.enabled ?? false,
      nestingHost: p.vmIsolation?.nestingHost ?? '',
      nestingConfig: { ...p.vmIsolation?.nestingConfig },
      image: p.vmIsolation?.image ?? '',
      connectorConfig: connectorDefaults(p.vmIsolation?.connectorConfig),
    },
    buckets: {
      instanceCreation: p.buckets?.instanceCreation ?? [],
      instanceIsRunning: p.buckets?.instanceIsRunning ?? [],
      instanceDeletion: p.buckets?.instanceDeletion ?? [],
      instanceReadiness: p.buckets?.instanceReadiness ?? [],
      instanceLifeDuration: p.buckets?.instanceLifeDuration ?? [],
    },
  };
}

function connectorDefaults(p: DeepPartial<ConnectorSettings> | undefined): ConnectorSettings {
  const os = p?.os ?? '';
  return {
    os,
    arch: p?.arch ?? '',
    protocol: p?.protocol ?? (os.toLowerCase() === 'windows' ? 'winrm' : 'ssh'),
    protocolPort: p?.protocolPort ?? 0,
    username: p?.username ?? '',
    password: p?.password ?? '',
    keyPath: p?.keyPath ?? '',
    useStaticCredentials: p?.useStaticCredentials ?? false,
    keepaliveMs: p?.keepaliveMs ?? 0,
    timeoutMs: p?.timeoutMs ?? 0,
    useExternalAddr: p?.useExternalAddr ?? false,
  };
}

function policyDefaults(p: DeepPartial<AutoscalerPolicy>): AutoscalerPolicy {
  const idleCount = p.idleCount ?? 0;
  return {
    periods: p.periods !== undefined && p.periods.length > 0 ? p.periods : [...DEFAULTS.policyPeriods],
    timezone: p.timezone ?? '',
    idleCount,
    idleTimeMs: p.idleTimeMs ?? 0,
    scaleFactor: p.scaleFactor ?? 0,
    scaleFactorLimit: p.scaleFactorLimit ?? 0,
    preemptiveMode: p.preemptiveMode ?? idleCount > 0,
  };
}

function throttleDefaults(p: DeepPartial<ScaleThrottle> | undefined, maxInstances: number): ScaleThrottle {
  const raw = p?.limitPerSecond ?? 0;
  const limitPerSecond = raw === -1 ? Infinity : raw > 0 ? raw : DEFAULTS.scaleThrottleLimitPerSecond;
  const fallbackBurst = maxInstances > 0 ? maxInstances : Number.isFinite(limitPerSecond) ? limitPerSecond : 0;
  return { limitPerSecond, burst: pos(p?.burst, fallbackBurst) };
}

function cacheDefaults(p: DeepPartial<CacheConfig>): CacheConfig {
  const s3 = p.s3;
  return {
    type: p.type ?? '',
    path: p.path ?? '',
    shared: p.shared ?? false,
    maxUploadedArchiveSize: p.maxUploadedArchiveSize ?? 0,
    s3:
      s3 === undefined
        ? undefined
        : {
            serverAddress: s3.serverAddress ?? '',
            accessKey: s3.accessKey ?? '',
            secretKey: s3.secretKey ?? '',
            sessionToken: s3.sessionToken ?? '',
            bucketName: s3.bucketName ?? '',
            bucketLocation: s3.bucketLocation ?? '',
            insecure: s3.insecure ?? false,
            authenticationType: s3.authenticationType ?? '',
            serverSideEncryption: s3.serverSideEncryption ?? '',
            serverSideEncryptionKeyId: s3.serverSideEncryptionKeyId ?? '',
            dualStack: s3.dualStack ?? true,
            pathStyle: s3.pathStyle,
            accelerate: s3.accelerate ?? false,
            roleArn: s3.roleArn ?? '',
            uploadRoleArn: s3.uploadRoleArn ?? '',
            assumeRoleMaxConcurrency: s3.assumeRoleMaxConcurrency || DEFAULTS.s3AssumeRoleMaxConcurrency,
          },
    gcs:
      p.gcs === undefined
        ? undefined
        : {
            credentialsFile: p.gcs.credentialsFile ?? '',
            accessId: p.gcs.accessId ?? '',
            privateKey: p.gcs.privateKey ?? '',
            bucketName: p.gcs.bucketName ?? '',
            universeDomain: p.gcs.universeDomain ?? '',
          },
    azure:
      p.azure === undefined
        ? undefined
        : {
            accountName: p.azure.accountName ?? '',
            accountKey: p.azure.accountKey ?? '',
            containerName: p.azure.containerName ?? '',
            storageDomain: p.azure.storageDomain || DEFAULTS.azureStorageDomain,
          },
  };
}

function stringRecord(v: DeepPartial<Record<string, string>> | undefined): Record<string, string> {
  return { ...v } as Record<string, string>;
}
