import { userInfo } from 'node:os';
import { RunnerError } from '@fleetrunner/common';
import type { ConnectorConfig, SshKeyPair } from '@fleetrunner/fleeting';
import type { LocalMode } from './config.js';
import { hashPassword, publicKeyLineOf } from './keys.js';

/** How instances authenticate logins, and what ConnectInfo hands out. */
export interface Credentials {
  username: string;
  /** Public key lines authorized on instances created from now on. */
  authorizedKeys: string[];
  /** ssh2 mode with a static password. */
  passwordHash?: string;
  /** Private key returned in ConnectInfo (OpenSSH or PEM bytes); empty = none. */
  connectKey: Uint8Array;
  connectPassword: string;
}

/** The user running the plugin: instances run commands as this user. */
export function currentUser(): string {
  return userInfo().username;
}

/**
 * Works out the credentials from the connector config: with `use_static_credentials` the configured username,
 * key and (ssh2 mode) password; otherwise the group's own ed25519 key (from `groupKey`, called only then) and the
 * current user. Static credentials are checked before anything is written.
 */
export async function resolveCredentials(connector: ConnectorConfig, mode: LocalMode, groupKey: () => Promise<SshKeyPair>): Promise<Credentials> {
  const me = currentUser();
  if (!connector.useStaticCredentials) {
    const kp = await groupKey();
    return { username: me, authorizedKeys: [kp.publicKey], connectKey: new TextEncoder().encode(kp.privateKey), connectPassword: '' };
  }
  const username = connector.username || me;
  const hasKey = connector.key.length > 0;
  if (!hasKey && connector.password === '') {
    throw new RunnerError('invalid_argument', 'connector_config: use_static_credentials needs a key (key_path) or a password');
  }
  if (mode === 'sshd') {
    if (!hasKey) throw new RunnerError('invalid_argument', 'connector_config.password: sshd mode supports key login only; set key_path');
    if (username !== me) {
      throw new RunnerError('invalid_argument', `connector_config.username: sshd mode runs as the current user "${me}", got "${username}"`);
    }
  }
  const creds: Credentials = {
    username,
    authorizedKeys: hasKey ? [publicKeyLineOf(connector.key, 'connector_config key')] : [],
    connectKey: connector.key,
    connectPassword: connector.password,
  };
  if (mode === 'ssh2' && connector.password !== '') creds.passwordHash = hashPassword(connector.password);
  return creds;
}
