import { createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
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

/** SSH wire `mpint` of an unsigned big-endian magnitude. */
function mpint(magnitude: Buffer): Buffer {
  let m = magnitude;
  while (m.length > 1 && m[0] === 0) m = m.subarray(1);
  return sshString((m[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), m]) : m);
}

function readString(buf: Buffer, at: number): { value: Buffer; next: number } {
  if (at + 4 > buf.length) throw new Error('truncated key');
  const len = buf.readUInt32BE(at);
  if (at + 4 + len > buf.length) throw new Error('truncated key');
  return { value: buf.subarray(at + 4, at + 4 + len), next: at + 4 + len };
}

/** The public blob stored (unencrypted) in the header of an `openssh-key-v1` private key. */
function opensshPublicBlob(text: string): Buffer {
  const b64 = text.replace(/-----(BEGIN|END) OPENSSH PRIVATE KEY-----/g, '').replace(/\s+/g, '');
  const body = Buffer.from(b64, 'base64');
  const magic = 'openssh-key-v1\0';
  if (body.subarray(0, magic.length).toString('latin1') !== magic) throw new Error('not an openssh-key-v1 key');
  let at = magic.length;
  for (let i = 0; i < 3; i++) at = readString(body, at).next; // cipher, kdf, kdf options
  if (body.readUInt32BE(at) < 1) throw new Error('the key file holds no key');
  return readString(body, at + 4).value;
}

/** The public blob of a PEM private key (PKCS#1, PKCS#8 or SEC1) of type RSA, ed25519 or ECDSA. */
function pemPublicBlob(text: string): Buffer {
  const key = createPrivateKey(text);
  const jwk = key.export({ format: 'jwk' });
  const b = (v: string | undefined): Buffer => Buffer.from(v ?? '', 'base64url');
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return Buffer.concat([sshString('ssh-rsa'), mpint(b(jwk.e)), mpint(b(jwk.n))]);
    case 'ed25519':
      return Buffer.concat([sshString('ssh-ed25519'), sshString(b(jwk.x))]);
    case 'ec': {
      const curve = ({ 'P-256': 'nistp256', 'P-384': 'nistp384', 'P-521': 'nistp521' } as Record<string, string>)[jwk.crv ?? ''];
      if (!curve) throw new Error(`unsupported curve ${jwk.crv}`);
      return Buffer.concat([sshString(`ecdsa-sha2-${curve}`), sshString(curve), sshString(Buffer.concat([Buffer.from([4]), b(jwk.x), b(jwk.y)]))]);
    }
    default:
      throw new Error(`unsupported key type ${key.asymmetricKeyType}`);
  }
}

/**
 * The `authorized_keys` line (`<type> <base64>`) of a private key in OpenSSH or PEM format. Throws an
 * `invalid_argument` RunnerError when it cannot be read.
 */
export function publicKeyLineOf(privateKey: Uint8Array | string, what: string): string {
  const text = typeof privateKey === 'string' ? privateKey : Buffer.from(privateKey).toString('utf8');
  try {
    const blob = text.includes('BEGIN OPENSSH PRIVATE KEY') ? opensshPublicBlob(text) : pemPublicBlob(text);
    return `${readString(blob, 0).value.toString('latin1')} ${blob.toString('base64')}`;
  } catch (err) {
    throw new RunnerError('invalid_argument', `reading ${what}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
