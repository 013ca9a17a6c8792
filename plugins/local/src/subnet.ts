/** An IPv4 loopback subnet from which instances get their addresses. */
export interface Subnet {
  /** Network address as a 32-bit unsigned integer. */
  base: number;
  prefix: number;
  /** The canonical `a.b.c.d/p` text. */
  text: string;
}

/**
 * Parses `a.b.c.d/p` (or a bare address, read as /16) inside 127.0.0.0/8 with 8 ≤ p ≤ 30. Linux routes all of
 * 127/8 to `lo`, so any such address can be bound without configuring an interface.
 */
export function parseSubnet(text: string): Subnet | string {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(text.trim());
  if (!m) return 'a CIDR like "127.77.0.0/16"';
  const octets = m.slice(1, 5).map(Number);
  if (octets.some((o) => o > 255)) return 'a CIDR with octets 0-255';
  if (octets[0] !== 127) return 'a subnet inside 127.0.0.0/8 (loopback)';
  const prefix = m[5] === undefined ? 16 : Number(m[5]);
  if (prefix < 8 || prefix > 30) return 'a prefix length between 8 and 30';
  const addr = octets.reduce((acc, o) => acc * 256 + o, 0);
  const size = 2 ** (32 - prefix);
  const base = addr - (addr % size);
  return { base, prefix, text: `${formatIPv4(base)}/${prefix}` };
}

/** Dotted-quad text of a 32-bit address. */
export function formatIPv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

/**
 * Usable instance addresses of `subnet` in ascending order, skipping addresses whose last octet is 0 or 255 and
 * 127.0.0.1 (commonly used by other local services).
 */
export function* subnetHosts(subnet: Subnet): Generator<string> {
  const size = 2 ** (32 - subnet.prefix);
  for (let i = 1; i < size - 1; i++) {
    const n = subnet.base + i;
    const last = n % 256;
    if (last === 0 || last === 255) continue;
    const ip = formatIPv4(n);
    if (ip === '127.0.0.1') continue;
    yield ip;
  }
}

/** Number of addresses {@link subnetHosts} yields, bounded by `limit` (counting stops there). */
export function subnetCapacity(subnet: Subnet, limit: number): number {
  let n = 0;
  for (const _ of subnetHosts(subnet)) {
    if (++n >= limit) break;
  }
  return n;
}
