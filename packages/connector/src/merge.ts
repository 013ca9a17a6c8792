import { RunnerError, splitHostPort } from '@fleetrunner/common';
import type { ConnectInfo } from '@fleetrunner/fleeting';
import type { ConnectorSettings, DialTarget } from './types.js';

const DEFAULT_PORTS: Record<string, number> = { ssh: 22, winrm: 5985, 'winrm+https': 5986 };

/**
 * Merges plugin ConnectInfo over the runner's connector settings: values the plugin reports win, the settings fill
 * what it left empty. With `use_static_credentials` the settings' username, password and key win instead.
 * Chooses the address per `use_external_addr`, falling back to the only address reported.
 */
export function dialTarget(settings: ConnectorSettings, info: ConnectInfo): DialTarget {
  const pick = <T>(a: T, b: T | undefined, empty: (v: T) => boolean): T => (empty(a) && b !== undefined ? b : a);
  const str = (v: string): boolean => v === '';
  const num = (v: number): boolean => v === 0;
  const staticCreds = settings.useStaticCredentials === true;
  const merged: ConnectInfo = {
    ...info,
    os: pick(info.os, settings.os, str),
    arch: pick(info.arch, settings.arch, str),
    protocol: info.protocol || settings.protocol || 'ssh',
    protocolPort: pick(info.protocolPort, settings.protocolPort, num),
    username: staticCreds && settings.username ? settings.username : pick(info.username, settings.username, str),
    password: staticCreds && settings.password ? settings.password : pick(info.password, settings.password, str),
    key: staticCreds && settings.key && settings.key.length > 0 ? settings.key : info.key.length > 0 ? info.key : (settings.key ?? info.key),
    keepaliveMs: pick(info.keepaliveMs, settings.keepaliveMs, num),
    timeoutMs: pick(info.timeoutMs, settings.timeoutMs, num),
  };
  let addr = settings.useExternalAddr ? merged.externalAddr || merged.internalAddr : merged.internalAddr || merged.externalAddr;
  if (!addr) throw new RunnerError('invalid_argument', `instance ${info.id}: the plugin reported no address`);
  const { host, port } = splitHostPort(addr);
  addr = host;
  if (merged.protocol !== 'ssh') {
    throw new RunnerError('unsupported', `instance ${info.id}: protocol ${merged.protocol} is not supported by this connector (ssh only)`);
  }
  if (!merged.username) throw new RunnerError('invalid_argument', `instance ${info.id}: no username (set connector_config.username)`);
  return { info: merged, host: addr, port: port ?? (merged.protocolPort || DEFAULT_PORTS[merged.protocol] || 22) };
}
