/**
 * The instance metadata with `publicLine` (`<type> <base64>`) for `user` in its `ssh-keys` entry, in the format of
 * expiring keys that the guest agent honours (`user:<type> <base64> google-ssh {"userName","expireOn"}`). Earlier
 * lines of the same key are replaced; every other key and item is kept.
 */
export function withSshKey(
  metadata: { fingerprint: string; items: { key: string; value: string }[] },
  user: string,
  publicLine: string,
  expiresAt: number,
): { fingerprint: string; items: { key: string; value: string }[] } {
  const blob = publicLine.split(/\s+/)[1] ?? '';
  const current = metadata.items.find((i) => i.key === 'ssh-keys')?.value ?? '';
  const kept = current.split('\n').filter((line) => line.trim() !== '' && !(blob !== '' && line.includes(` ${blob}`)));
  const line = `${user}:${publicLine} google-ssh ${JSON.stringify({ userName: user, expireOn: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, '+0000') })}`;
  const value = [...kept, line].join('\n');
  const items = metadata.items.filter((i) => i.key !== 'ssh-keys');
  return { fingerprint: metadata.fingerprint, items: [...items, { key: 'ssh-keys', value }] };
}
