import { RunnerError } from '@fleetrunner/common';
import { fleetingV1 } from '@fleetrunner/proto';
import type { ConnectInfo, ConnectorConfig, InstanceState, Protocol, ProviderInfo } from './types.js';

const PROTOCOLS: readonly Protocol[] = ['ssh', 'winrm', 'winrm+https'];

/** Domain connector config → wire. */
export function connectorToWire(c: ConnectorConfig): fleetingV1.ConnectorConfig {
  return {
    os: c.os,
    arch: c.arch,
    protocol: c.protocol,
    protocolPort: c.protocolPort,
    username: c.username,
    password: c.password,
    key: c.key,
    useStaticCredentials: c.useStaticCredentials,
    keepaliveMs: c.keepaliveMs,
    timeoutMs: c.timeoutMs,
  };
}

/** Wire connector config → domain; an empty protocol means `ssh`, an unknown one is `invalid_argument`. */
export function connectorFromWire(w: fleetingV1.ConnectorConfig | null): ConnectorConfig {
  const protocol = w?.protocol || 'ssh';
  if (!(PROTOCOLS as readonly string[]).includes(protocol)) {
    throw new RunnerError('invalid_argument', `connector_config.protocol: unknown protocol ${JSON.stringify(protocol)}`);
  }
  return {
    os: w?.os ?? '',
    arch: w?.arch ?? '',
    protocol: protocol as Protocol,
    protocolPort: w?.protocolPort ?? 0,
    username: w?.username ?? '',
    password: w?.password ?? '',
    key: w?.key ?? new Uint8Array(),
    useStaticCredentials: w?.useStaticCredentials ?? false,
    keepaliveMs: w?.keepaliveMs ?? 0,
    timeoutMs: w?.timeoutMs ?? 0,
  };
}

const STATE_TO_WIRE: Record<InstanceState, fleetingV1.InstanceState> = {
  creating: fleetingV1.InstanceState.INSTANCE_STATE_CREATING,
  running: fleetingV1.InstanceState.INSTANCE_STATE_RUNNING,
  deleting: fleetingV1.InstanceState.INSTANCE_STATE_DELETING,
  deleted: fleetingV1.InstanceState.INSTANCE_STATE_DELETED,
  timeout: fleetingV1.InstanceState.INSTANCE_STATE_TIMEOUT,
};

export function stateToWire(s: InstanceState): fleetingV1.InstanceState {
  return STATE_TO_WIRE[s];
}

/** Undefined for UNSPECIFIED or values this build does not know (the instance is skipped). */
export function stateFromWire(w: number): InstanceState | undefined {
  for (const [k, v] of Object.entries(STATE_TO_WIRE)) if (v === w) return k as InstanceState;
  return undefined;
}

export function providerInfoToWire(i: ProviderInfo): fleetingV1.ProviderInfo {
  return { id: i.id, maxSize: i.maxSize, version: i.version, buildInfo: i.buildInfo, capabilities: [...i.capabilities] };
}

export function providerInfoFromWire(w: fleetingV1.ProviderInfo | null): ProviderInfo {
  return { id: w?.id ?? '', maxSize: w?.maxSize ?? 0, version: w?.version ?? '', buildInfo: w?.buildInfo ?? '', capabilities: [...(w?.capabilities ?? [])] };
}

export function connectInfoToWire(c: ConnectInfo): fleetingV1.ConnectInfoResponse {
  return {
    id: c.id,
    connectorConfig: connectorToWire(c),
    internalAddr: c.internalAddr,
    externalAddr: c.externalAddr,
    expiresAtMs: c.expiresAt ?? 0,
  };
}

export function connectInfoFromWire(w: fleetingV1.ConnectInfoResponse): ConnectInfo {
  const info: ConnectInfo = { ...connectorFromWire(w.connectorConfig), id: w.id, internalAddr: w.internalAddr, externalAddr: w.externalAddr };
  if (w.expiresAtMs > 0) info.expiresAt = w.expiresAtMs;
  return info;
}
