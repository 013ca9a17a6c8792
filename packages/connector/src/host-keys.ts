import { createHash } from 'node:crypto';

/**
 * Host keys trusted on first use, per instance id, for the instance's life: the first key seen is pinned, a
 * different one later is refused. `forget(id)` when the instance is removed (a new instance may reuse the id's
 * address with a new key).
 */
export class HostKeyStore {
  private readonly pinned = new Map<string, string>();

  /** SHA256 fingerprint in OpenSSH's `SHA256:<base64 without padding>` form. */
  static fingerprint(key: Buffer): string {
    return 'SHA256:' + createHash('sha256').update(key).digest('base64').replace(/=+$/, '');
  }

  /** Pins on first use; returns whether `key` matches the pinned key. */
  verify(instanceId: string, key: Buffer): boolean {
    const fp = HostKeyStore.fingerprint(key);
    const known = this.pinned.get(instanceId);
    if (known === undefined) {
      this.pinned.set(instanceId, fp);
      return true;
    }
    return known === fp;
  }

  /** The pinned fingerprint, if any. */
  get(instanceId: string): string | undefined {
    return this.pinned.get(instanceId);
  }

  forget(instanceId: string): void {
    this.pinned.delete(instanceId);
  }
}
