import { connect, type Socket } from 'node:net';
import type { AcceptConnection, RejectConnection, ServerChannel } from 'ssh2';

/**
 * Opens `target` and, once connected, accepts the forwarding channel and splices the two; rejects the channel when
 * the connection fails. Either side closing tears down the other.
 */
export function forward(
  accept: AcceptConnection<ServerChannel>,
  reject: RejectConnection,
  target: { host: string; port: number } | { path: string },
): void {
  const sock: Socket = connect(target);
  sock.once('error', () => reject());
  sock.once('connect', () => {
    sock.removeAllListeners('error');
    const channel = accept();
    const teardown = (): void => {
      sock.destroy();
      channel.destroy();
    };
    sock.on('error', teardown);
    channel.on('error', teardown);
    channel.once('close', teardown);
    sock.once('close', teardown);
    channel.pipe(sock).pipe(channel);
  });
}
