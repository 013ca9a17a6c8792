import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import ssh2 from 'ssh2';
import { RunnerError } from '@fleetrunner/common';

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
