import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';

/** A parsed OpenSSH public key: its algorithm name and wire blob. */
export interface SshPublicKey {
  type: string;
  blob: Buffer;
}

const KEY_TYPES = new Set(['ssh-rsa', 'ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521']);

function readString(buf: Buffer, at: number): { value: Buffer; next: number } | undefined {
  if (at + 4 > buf.length) return undefined;
  const len = buf.readUInt32BE(at);
  if (at + 4 + len > buf.length) return undefined;
  return { value: buf.subarray(at + 4, at + 4 + len), next: at + 4 + len };
}

/**
 * Parses an `authorized_keys`-style line (`<type> <base64> [comment]`); undefined when it is not one of the key
 * types the stand-ins accept (those EC2 Instance Connect and GCE guest agents take) or its blob does not name the same type.
 */
export function parseSshPublicKey(line: string): SshPublicKey | undefined {
  const [type, b64] = line.trim().split(/\s+/);
  if (!type || !b64 || !KEY_TYPES.has(type) || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return undefined;
  const blob = Buffer.from(b64, 'base64');
  const inner = readString(blob, 0);
  if (!inner || inner.value.toString('latin1') !== type) return undefined;
  return { type, blob };
}

/** An RSA public key as a Node KeyObject, from an `ssh-rsa` line or a PEM public key; undefined for other keys. */
export function rsaPublicKey(text: string): KeyObject | undefined {
  const ssh = parseSshPublicKey(text);
  if (ssh) {
    if (ssh.type !== 'ssh-rsa') return undefined;
    const e = readString(ssh.blob, readString(ssh.blob, 0)!.next);
    const n = e && readString(ssh.blob, e.next);
    if (!e || !n) return undefined;
    const unsigned = (b: Buffer): string => (b[0] === 0 ? b.subarray(1) : b).toString('base64url');
    return createPublicKey({ key: { kty: 'RSA', e: unsigned(e.value), n: unsigned(n.value) }, format: 'jwk' });
  }
  try {
    const key = createPublicKey(text);
    return key.asymmetricKeyType === 'rsa' ? key : undefined;
  } catch {
    return undefined;
  }
}

/** The public blob of a key pair's key, for login checks; undefined when it cannot be read. */
export function keyPairBlob(text: string): Buffer | undefined {
  const ssh = parseSshPublicKey(text);
  if (ssh) return ssh.blob;
  const rsa = rsaPublicKey(text);
  if (!rsa) return undefined;
  const jwk = rsa.export({ format: 'jwk' });
  const mpint = (b64url: string | undefined): Buffer => {
    const raw = Buffer.from(b64url ?? '', 'base64url');
    return (raw[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), raw]) : raw;
  };
  const str = (b: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    return Buffer.concat([len, b]);
  };
  return Buffer.concat([str(Buffer.from('ssh-rsa')), str(mpint(jwk.e)), str(mpint(jwk.n))]);
}

/** A fresh host key for an instance's SSH server (ECDSA P-256, SEC1 PEM: a format ssh2 reads). */
export function generateHostKey(): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return privateKey.export({ type: 'sec1', format: 'pem' }).toString();
}

/** Keys pushed to one instance (EC2 Instance Connect, GCE `ssh-keys` metadata): each for one OS user, each valid for a while. */
export class PushedKeys {
  private keys: { user: string; blob: Buffer; expiresAt: number }[] = [];

  add(user: string, key: SshPublicKey, expiresAt: number): void {
    this.keys.push({ user, blob: key.blob, expiresAt });
  }

  /** True when `blob` was pushed for `user` and has not expired at `now`. */
  allows(user: string, blob: Buffer, now: number): boolean {
    this.keys = this.keys.filter((k) => k.expiresAt > now);
    return this.keys.some((k) => k.user === user && k.blob.equals(blob));
  }
}
