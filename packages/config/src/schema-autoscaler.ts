import { RunnerError } from '@fleetrunner/common';
import { isValidTimeZone, parseCron } from './cron.js';
import type { DeepPartial } from './deep-partial.js';
import type { TableReader } from './table-reader.js';
import type { AutoscalerConfig, AutoscalerPolicy, ConnectorSettings, VmIsolation } from './types.js';

const PROTOCOLS = ['ssh', 'winrm', 'winrm+https'] as const;

/** Schema of `[runners.autoscaler]`: types and single-field bounds; absent keys stay undefined. */
export function readAutoscaler(r: TableReader): DeepPartial<AutoscalerConfig> {
  const out: DeepPartial<AutoscalerConfig> = {
    plugin: r.string('plugin'),
    pluginConfig: r.plain('plugin_config'),
    capacityPerInstance: r.int('capacity_per_instance', { min: 1 }),
    maxUseCount: r.int('max_use_count', { min: 0 }),
    maxInstances: r.int('max_instances', { min: 0 }),
    instanceReadyCommand: r.string('instance_ready_command'),
    // ≤ 0 means "default" upstream, so no lower bound here.
    instanceAcquireTimeoutMs: r.duration('instance_acquire_timeout'),
    updateIntervalMs: r.duration('update_interval', { min: 0 }),
    updateIntervalWhenExpectingMs: r.duration('update_interval_when_expecting', { min: 0 }),
    deletionRetryIntervalMs: r.duration('deletion_retry_interval', { min: 0 }),
    shutdownDeletionIntervalMs: r.duration('shutdown_deletion_interval', { min: 0 }),
    shutdownDeletionRetries: r.int('shutdown_deletion_retries', { min: 0 }),
    failureThreshold: r.int('failure_threshold', { min: 0 }),
    reservationThrottling: r.bool('reservation_throttling'),
    deleteInstancesOnShutdown: r.bool('delete_instances_on_shutdown'),
    logInternalIp: r.bool('log_internal_ip'),
    logExternalIp: r.bool('log_external_ip'),
    buckets: readBuckets(r),
  };
  // Upstream leaves the default to the taskscaler library; spec §7.3: treat as 1 and say so.
  if (!r.has('capacity_per_instance')) r.warn('capacity_per_instance', 'not set; using 1 job per instance');
  const connector = r.section('connector_config');
  if (connector) out.connectorConfig = readConnector(connector, true);
  const policies = r.tables('policy');
  if (policies) out.policies = policies.map(readPolicy);
  const throttle = r.section('scale_throttle');
  if (throttle) {
    out.scaleThrottle = { limitPerSecond: throttle.int('limit', { min: -1 }), burst: throttle.int('burst', { min: 0 }) };
    throttle.finish();
  }
  const storage = r.section('state_storage');
  if (storage) {
    out.stateStorage = {
      enabled: storage.bool('enabled'),
      dir: storage.string('dir'),
      keepInstanceWithAcquisitions: storage.bool('keep_instance_with_acquisitions'),
    };
    storage.finish();
  }
  const vm = r.section('vm_isolation');
  if (vm) out.vmIsolation = readVmIsolation(vm);
  r.finish();
  return out;
}

function readBuckets(r: TableReader): DeepPartial<AutoscalerConfig['buckets']> {
  const operation = r.numberArray('instance_operation_time_buckets');
  // Upstream getters: an empty per-kind list falls back to the operation list.
  const kind = (key: string): number[] | undefined => {
    const v = r.numberArray(key);
    return v !== undefined && v.length > 0 ? v : operation;
  };
  return {
    instanceCreation: kind('instance_creation_time_buckets'),
    instanceIsRunning: kind('instance_is_running_time_buckets'),
    instanceDeletion: kind('instance_deletion_time_buckets'),
    instanceReadiness: kind('instance_readiness_time_buckets'),
    instanceLifeDuration: r.numberArray('instance_life_duration_buckets'),
  };
}

/** `connector_config` (also used for `vm_isolation.connector_config`). */
export function readConnector(r: TableReader, forHost: boolean): DeepPartial<ConnectorSettings> {
  const protocol = r.string('protocol');
  let parsedProtocol: ConnectorSettings['protocol'] | undefined;
  if (protocol !== undefined && protocol !== '') {
    if ((PROTOCOLS as readonly string[]).includes(protocol)) parsedProtocol = protocol as ConnectorSettings['protocol'];
    else r.error('protocol', `expected one of "ssh", "winrm", "winrm+https", got ${JSON.stringify(protocol)}`);
  }
  const out: DeepPartial<ConnectorSettings> = {
    os: r.string('os'),
    arch: r.string('arch'),
    protocol: parsedProtocol,
    protocolPort: r.int('protocol_port', { min: 0, max: 65535 }),
    username: r.string('username'),
    password: r.string('password'),
    keyPath: r.string('key_path'),
    useStaticCredentials: r.bool('use_static_credentials'),
    keepaliveMs: r.duration('keepalive', { min: 0 }),
    timeoutMs: r.duration('timeout', { min: 0 }),
    useExternalAddr: r.bool('use_external_addr'),
  };
  if (!forHost) {
    // Same keys upstream, but the nested VM is reached through the host connection (its key_path is honoured).
    if (out.useExternalAddr) r.warn('use_external_addr', 'has no effect for the nested VM connection');
  }
  r.finish();
  return out;
}

function readPolicy(r: TableReader): DeepPartial<AutoscalerPolicy> {
  const periods = r.stringArray('periods');
  periods?.forEach((p, i) => {
    try {
      parseCron(p);
    } catch (err) {
      const why = err instanceof RunnerError ? err.message : String(err);
      r.sink.error(`${r.pathOf('periods')}[${i}]`, `invalid cron period ${JSON.stringify(p)}: ${why}`);
    }
  });
  const timezone = r.string('timezone');
  if (timezone !== undefined && timezone !== '' && !isValidTimeZone(timezone)) {
    r.error('timezone', `expected an IANA time zone such as "Europe/Berlin" or "UTC", got ${JSON.stringify(timezone)}`);
  }
  const out: DeepPartial<AutoscalerPolicy> = {
    periods,
    timezone,
    idleCount: r.int('idle_count', { min: 0 }),
    idleTimeMs: r.duration('idle_time', { min: 0 }),
    scaleFactor: r.float('scale_factor', { min: 0 }),
    scaleFactorLimit: r.int('scale_factor_limit', { min: 0 }),
    preemptiveMode: r.bool('preemptive_mode'),
  };
  r.finish();
  return out;
}

function readVmIsolation(r: TableReader): DeepPartial<VmIsolation> {
  const out: DeepPartial<VmIsolation> = {
    enabled: r.bool('enabled'),
    nestingHost: r.string('nesting_host'),
    nestingConfig: r.plain('nesting_config'),
    image: r.string('image'),
  };
  const connector = r.section('connector_config');
  if (connector) out.connectorConfig = readConnector(connector, false);
  r.finish();
  return out;
}
