import { RunnerError, parseGoBool } from '@fleetrunner/common';
import { CORE_PROTOCOL_VERSION } from './constants.js';

/** The parsed handshake line a plugin prints on stdout: `CORE|APP|NETWORK|ADDRESS|PROTOCOL|SERVERCERT`. */
export interface Handshake {
  coreVersion: number;
  appVersion: number;
  network: 'unix' | 'tcp';
  address: string;
  protocol: string;
  /** Base64 DER of the plugin's AutoMTLS certificate, when field 6 carries one (> 50 characters). */
  serverCert?: string;
  /** Field 7 (`true` when the plugin multiplexes the broker over the main connection). */
  multiplex?: boolean;
}

/** Formats the handshake line a plugin prints (without the trailing newline). */
export function formatHandshake(appVersion: number, network: 'unix' | 'tcp', address: string, serverCert = ''): string {
  return `${CORE_PROTOCOL_VERSION}|${appVersion}|${network}|${address}|grpc|${serverCert}`;
}

/**
 * Parses a plugin's handshake line by the host's rules (go-plugin client): at least four `|`-separated fields,
 * core version exactly `1`, an app version the host accepts, network `unix` or `tcp`, protocol `grpc`
 * (an absent field 5 means net/rpc, which we do not speak). Throws `plugin_handshake` quoting the line.
 */
export function parseHandshake(raw: string, acceptedAppVersions: readonly number[]): Handshake {
  const line = raw.trim();
  const fail = (why: string): RunnerError =>
    new RunnerError('plugin_handshake', `${why} in handshake ${JSON.stringify(truncate(line, 200))}`, { details: { line } });
  const parts = line.split('|');
  if (parts.length < 4) throw fail('unrecognized plugin message (want CORE|APP|NETWORK|ADDRESS|PROTOCOL)');
  const [core = '', app = '', network = '', address = ''] = parts;
  if (core !== String(CORE_PROTOCOL_VERSION)) throw fail(`incompatible core protocol version ${JSON.stringify(core)} (want ${CORE_PROTOCOL_VERSION})`);
  const appVersion = /^\d+$/.test(app) ? Number(app) : NaN;
  if (!acceptedAppVersions.includes(appVersion)) {
    throw fail(`unsupported app protocol version ${JSON.stringify(app)} (host accepts ${acceptedAppVersions.join(', ')})`);
  }
  if (network !== 'unix' && network !== 'tcp') throw fail(`unknown network ${JSON.stringify(network)}`);
  if (address === '') throw fail('empty address');
  const protocol = parts[4] ?? 'netrpc';
  if (protocol !== 'grpc') throw fail(`unsupported protocol ${JSON.stringify(protocol)} (only grpc is spoken)`);
  const result: Handshake = { coreVersion: CORE_PROTOCOL_VERSION, appVersion, network, address, protocol };
  const cert = parts[5] ?? '';
  if (cert.length > 50) result.serverCert = cert;
  if (parts[6] !== undefined) {
    // go-plugin reads the field with strconv.ParseBool and refuses anything else.
    const multiplex = parseGoBool(parts[6]);
    if (multiplex === undefined) throw fail(`error parsing ${JSON.stringify(parts[6])} as a boolean for multiplexing support`);
    result.multiplex = multiplex;
  }
  return result;
}

function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max)}…`;
}
