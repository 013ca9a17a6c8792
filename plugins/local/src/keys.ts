import { generateKeyPairSync, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import ssh2 from 'ssh2';
import { RunnerError } from '@fleetrunner/common';

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
 * Generates an ed25519 key pair whose private key (`openssh-key-v1`, unencrypted) both `ssh2` and the OpenSSH
 * `ssh` CLI read. Written here rather than with ssh2's generator, which drops leading zero bytes of the public key
 * and so produces an unreadable key about once in 200.
 */
export function generateEd25519(comment: string): SshKeyPair {
  const jwk = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
  const seed = Buffer.from(jwk.d ?? '', 'base64url');
  const pub = Buffer.from(jwk.x ?? '', 'base64url');
  const pubBlob = Buffer.concat([sshString('ssh-ed25519'), sshString(pub)]);
  const check = randomBytes(4);
  let secret = Buffer.concat([check, check, pubBlob, sshString(Buffer.concat([seed, pub])), sshString(comment)]);
  const pad = (8 - (secret.length % 8)) % 8;
  secret = Buffer.concat([secret, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1))]);
  const nkeys = Buffer.alloc(4);
  nkeys.writeUInt32BE(1);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    nkeys,
    sshString(pubBlob),
    sshString(secret),
  ]);
  const lines = body.toString('base64').match(/.{1,70}/g) ?? [];
  const privateKey = ['-----BEGIN OPENSSH PRIVATE KEY-----', ...lines, '-----END OPENSSH PRIVATE KEY-----', ''].join('\n');
  return { privateKey, publicKey: `ssh-ed25519 ${pubBlob.toString('base64')}${comment ? ` ${comment}` : ''}` };
}

/**
 * The `authorized_keys` line (`<type> <base64>`) of an unencrypted private key in any format ssh2 reads
 * (OpenSSH, PKCS#1, PKCS#8). Throws `invalid_argument` when the key cannot be parsed.
 */
export function publicKeyLineOf(privateKey: Uint8Array | string, what: string): string {
  const parsed = ssh2.utils.parseKey(typeof privateKey === 'string' ? privateKey : Buffer.from(privateKey));
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error) {
    throw new RunnerError('invalid_argument', `parsing ${what}: ${key instanceof Error ? key.message : 'no key found'}`);
  }
  return `${key.type} ${key.getPublicSSH().toString('base64')}`;
}

const SCRYPT_KEYLEN = 32;

/** `scrypt$<salt hex>$<hash hex>` of a password, so instance files never hold it in clear. */
export function hashPassword(password: string): string {
  const salt = randomBytes(16);
  return `scrypt$${salt.toString('hex')}$${scryptSync(password, salt, SCRYPT_KEYLEN).toString('hex')}`;
}

/** Constant-time check of `password` against a {@link hashPassword} value. */
export function verifyPassword(password: string, stored: string): boolean {
  const [scheme, saltHex, hashHex] = stored.split('$');
  if (scheme !== 'scrypt' || !saltHex || !hashHex) return false;
  const expected = Buffer.from(hashHex, 'hex');
  const actual = scryptSync(password, Buffer.from(saltHex, 'hex'), expected.length);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
