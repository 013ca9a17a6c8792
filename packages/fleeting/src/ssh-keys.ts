import { generateKeyPairSync, randomBytes } from 'node:crypto';

/** An SSH key pair: OpenSSH-format private key text and its `authorized_keys` line. */
export interface SshKeyPair {
  privateKey: string;
  publicKey: string;
}

/** SSH wire `string`: uint32 length + bytes. */
function sshString(data: Buffer | string): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data) : data;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

/**
 * Generates an ed25519 key pair for plugins that provision credentials (`use_static_credentials = false`). The
 * private key is unencrypted `openssh-key-v1`, read by both `ssh2` and the OpenSSH `ssh` CLI. Written here rather
 * than with ssh2's generator, which drops leading zero bytes of the public key and so produces an unreadable key
 * about once in 200.
 */
export function generateEd25519(comment = ''): SshKeyPair {
  const jwk = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
  const seed = Buffer.from(jwk.d ?? '', 'base64url');
  const pub = Buffer.from(jwk.x ?? '', 'base64url');
  const pubBlob = Buffer.concat([sshString('ssh-ed25519'), sshString(pub)]);
  const check = randomBytes(4);
  const secret = Buffer.concat([check, check, pubBlob, sshString(Buffer.concat([seed, pub])), sshString(comment)]);
  const padding = Buffer.from(Array.from({ length: (8 - (secret.length % 8)) % 8 }, (_, i) => i + 1));
  const nkeys = Buffer.from([0, 0, 0, 1]);
  const body = Buffer.concat([Buffer.from('openssh-key-v1\0'), sshString('none'), sshString('none'), sshString(''), nkeys, sshString(pubBlob), sshString(Buffer.concat([secret, padding]))]);
  const lines = body.toString('base64').match(/.{1,70}/g) ?? [];
  return {
    privateKey: ['-----BEGIN OPENSSH PRIVATE KEY-----', ...lines, '-----END OPENSSH PRIVATE KEY-----', ''].join('\n'),
    publicKey: `ssh-ed25519 ${pubBlob.toString('base64')}${comment ? ` ${comment}` : ''}`,
  };
}
