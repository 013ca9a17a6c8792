import { createPrivateKey } from 'node:crypto';
import { RunnerError } from '@fleetrunner/common';

function toBigInt(b64url: string | undefined): bigint {
  const hex = Buffer.from(b64url ?? '', 'base64url').toString('hex');
  return hex === '' ? 0n : BigInt(`0x${hex}`);
}

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  let b = base % modulus;
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
  }
  return result;
}

/**
 * Decrypts the `PasswordData` of GetPasswordData: base64 of the Administrator password encrypted with the key
 * pair's RSA public key, PKCS#1 v1.5 padding. Done with bigint arithmetic because Node 20 refuses PKCS#1 v1.5
 * private decryption (CVE-2023-46809); a timing side channel does not matter for a value decrypted once.
 * `privateKey` is the key pair's RSA private key in PEM (PKCS#1 or PKCS#8).
 */
export function decryptWindowsPassword(passwordData: string, privateKey: Uint8Array | string): string {
  let jwk: { n?: string; d?: string };
  try {
    const key = createPrivateKey(typeof privateKey === 'string' ? privateKey : Buffer.from(privateKey));
    if (key.asymmetricKeyType !== 'rsa') throw new Error(`the key is ${key.asymmetricKeyType}, not RSA`);
    jwk = key.export({ format: 'jwk' });
  } catch (err) {
    throw new RunnerError('invalid_argument', `reading connector_config key for the Windows password (an RSA key in PEM format is needed): ${err instanceof Error ? err.message : String(err)}`);
  }
  const n = toBigInt(jwk.n);
  const size = Buffer.from(jwk.n ?? '', 'base64url').length;
  const cipher = Buffer.from(passwordData.trim(), 'base64');
  if (cipher.length !== size) throw new RunnerError('plugin_error', `decrypting the Windows password: expected ${size} bytes of password data, got ${cipher.length}`);
  const m = modPow(BigInt(`0x${cipher.toString('hex')}`), toBigInt(jwk.d), n);
  const block = Buffer.from(m.toString(16).padStart(size * 2, '0'), 'hex');
  const end = block.indexOf(0, 2);
  if (block[0] !== 0 || block[1] !== 2 || end < 10) throw new RunnerError('plugin_error', 'decrypting the Windows password: bad padding (was it encrypted for another key pair?)');
  return block.subarray(end + 1).toString('utf8');
}
