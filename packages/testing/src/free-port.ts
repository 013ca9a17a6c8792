import { createServer } from 'node:net';

/**
 * A TCP port that was free on `host` a moment ago. The caller hands it to another process, which may lose it to
 * someone else in between: callers that start servers this way retry on a new port when the server cannot bind.
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen({ host, port: 0, exclusive: true }, () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}
