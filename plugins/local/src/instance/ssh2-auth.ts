import type { AuthContext } from 'ssh2';
import ssh2 from 'ssh2';
import { verifyPassword } from '../keys.js';

/** Public keys (wire blobs) read from an `authorized_keys`-style text; unparsable lines are skipped. */
export function parseAuthorizedKeys(text: string): Buffer[] {
  const blobs: Buffer[] = [];
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const parsed = ssh2.utils.parseKey(trimmed);
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    if (key && !(key instanceof Error)) blobs.push(key.getPublicSSH());
  }
  return blobs;
}

/** Who may log in: one user name, with any of the authorized keys or, when set, the password. */
export interface AuthPolicy {
  username: string;
  keys: readonly Buffer[];
  passwordHash?: string;
}

/**
 * Decides one authentication attempt. A key is matched by its full public blob (type included), so RSA keys
 * signing with rsa-sha2-* are found too; the signature is checked against that key.
 */
export function authenticate(ctx: AuthContext, policy: AuthPolicy): void {
  const methods: ('publickey' | 'password')[] = policy.passwordHash ? ['publickey', 'password'] : ['publickey'];
  if (ctx.username !== policy.username) {
    ctx.reject(methods);
    return;
  }
  if (ctx.method === 'publickey') {
    const blob = ctx.key.data;
    if (!policy.keys.some((k) => k.equals(blob))) {
      ctx.reject(methods);
      return;
    }
    // Without a signature the client only asks whether the key would be accepted.
    if (!ctx.signature || !ctx.blob) {
      ctx.accept();
      return;
    }
    const parsed = ssh2.utils.parseKey(blob);
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    if (key && !(key instanceof Error) && key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true) ctx.accept();
    else ctx.reject(methods);
    return;
  }
  if (ctx.method === 'password' && policy.passwordHash && verifyPassword(ctx.password, policy.passwordHash)) {
    ctx.accept();
    return;
  }
  ctx.reject(methods);
}
