/** A pool of loopback addresses (`127.x.y.z`, all routed to `lo` on Linux) handed out lowest first. */
export class AddressPool {
  private readonly base: number;
  private readonly size: number;
  private readonly used = new Set<number>();

  /** `cidr` such as `127.90.0.0/24`; throws a message naming it when it is not inside 127.0.0.0/8. */
  constructor(readonly cidr: string) {
    const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
    const octets = m ? [127, Number(m[1]), Number(m[2]), Number(m[3])] : [];
    const bits = m ? Number(m[4]) : -1;
    if (!m || octets.some((o) => o > 255) || bits < 8 || bits > 30) {
      throw new Error(`${JSON.stringify(cidr)}: expected a CIDR inside 127.0.0.0/8 with a prefix from /8 to /30, like "127.90.0.0/24"`);
    }
    const value = octets.reduce((acc, o) => acc * 256 + o, 0);
    this.size = 2 ** (32 - bits);
    this.base = value - (value % this.size);
  }

  /** The lowest free address, skipping the network and broadcast addresses, `.0`, `.255` and 127.0.0.1. */
  take(): string | undefined {
    for (let i = 1; i < this.size - 1; i++) {
      const v = this.base + i;
      const last = v % 256;
      if (this.used.has(v) || last === 0 || last === 255 || v === 0x7f000001) continue;
      this.used.add(v);
      return toDotted(v);
    }
    return undefined;
  }

  release(address: string): void {
    const parts = address.split('.').map(Number);
    this.used.delete(parts.reduce((acc, o) => acc * 256 + o, 0));
  }
}

function toDotted(v: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(v / 2 ** s) % 256).join('.');
}
