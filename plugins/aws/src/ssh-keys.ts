import { createPrivateKey } from 'node:crypto';
import { RunnerError } from '@fleetrunner/common';

export { generateEd25519, type SshKeyPair } from '@fleetrunner/fleeting';

/** SSH wire `string`: uint32 length, then the bytes. */
function sshString(data: Buffer | string): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data) : data;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
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
