import { RegistryClient, type RegistryOptions } from './registry-client.js';

/** One client per registry host for the length of a command, so tokens and sockets are reused. */
export class RegistryPool {
  private readonly clients = new Map<string, RegistryClient>();

  constructor(private readonly options: RegistryOptions = {}) {}

  /** The client for `registry` (`host[:port]`), created on first use. */
  get(registry: string): RegistryClient {
    let c = this.clients.get(registry);
    if (!c) {
      c = new RegistryClient(registry, this.options);
      this.clients.set(registry, c);
    }
    return c;
  }

  /** Closes every client's idle sockets; idempotent. */
  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
