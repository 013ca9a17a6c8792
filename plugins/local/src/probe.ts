import { connect } from 'node:net';

/**
 * True when `ip:port` accepts a TCP connection and greets with an SSH identification line within `timeoutMs`
 * (real time: this waits on another process). Never rejects.
 */
export function probeSsh(ip: string, port: number, options: { timeoutMs: number; signal?: AbortSignal }): Promise<boolean> {
  return new Promise((resolve) => {
    if (options.signal?.aborted) {
      resolve(false);
      return;
    }
    const sock = connect({ host: ip, port });
    let got = '';
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      sock.destroy();
      resolve(ok);
    };
    const onAbort = (): void => done(false);
    const timer = setTimeout(() => done(false), options.timeoutMs);
    timer.unref();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    sock.on('error', () => done(false));
    sock.on('close', () => done(false));
    sock.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (got.length >= 4) done(got.startsWith('SSH-'));
    });
  });
}
