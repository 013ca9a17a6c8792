import { AlreadyInitializedError, NotInitializedError } from './errors.js';
import type { NestingApi, NestingCallOptions, NestingClient } from './client.js';

/**
 * Runs `call`; when the daemon answers "not initialized", sends Init with `config` (an "already initialized"
 * answer — another client won the race — is fine) and runs `call` once more.
 */
export async function withLazyInit<T>(
  client: Pick<NestingApi, 'init'>,
  config: Uint8Array | string | Record<string, unknown>,
  call: () => Promise<T>,
  options: NestingCallOptions = {},
): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (!(err instanceof NotInitializedError)) throw err;
  }
  try {
    await client.init(config, options);
  } catch (err) {
    if (!(err instanceof AlreadyInitializedError)) throw err;
  }
  return call();
}

/** `client` with every call but init and close made through {@link withLazyInit} with `config`. */
export function lazyInitClient(client: NestingClient, config: Uint8Array | string | Record<string, unknown>): NestingClient {
  return {
    init: (c, o) => client.init(c, o),
    shutdown: (o) => withLazyInit(client, config, () => client.shutdown(o), o),
    create: (image, slot, o) => withLazyInit(client, config, () => client.create(image, slot, o), o),
    delete: (id, o) => withLazyInit(client, config, () => client.delete(id, o), o),
    list: (o) => withLazyInit(client, config, () => client.list(o), o),
    close: () => client.close(),
  };
}
