import { connect } from 'node:net';
import { abortError } from '@fleetrunner/common';

/** One attempt: connect and read the server's identification line; true when it starts with `SSH-`. */
function sshAnswers(host: string, port: number, attemptMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    let data = '';
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), attemptMs);
    s.on('data', (d: Buffer) => {
      data += d.toString('latin1');
      if (data.length >= 4) done(data.startsWith('SSH-'));
    });
    s.once('error', () => done(false));
    s.once('close', () => done(false));
  });
}

/**
 * Resolves once an SSH server answers on host:port (its identification line arrives). A port forwarded by QEMU's
 * user-mode network accepts connections before the guest listens and then closes them, so a TCP connect alone
 * proves nothing. Rejects with the signal's reason when `signal` aborts (the caller's timeout, the VM's exit).
 */
export async function waitForSsh(host: string, port: number, signal: AbortSignal, options: { intervalMs?: number; attemptMs?: number } = {}): Promise<void> {
  const interval = options.intervalMs ?? 250;
  for (;;) {
    if (signal.aborted) throw abortError(signal);
    if (await sshAnswers(host, port, options.attemptMs ?? 3000)) return;
    if (signal.aborted) throw abortError(signal);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, interval);
      const onAbort = (): void => {
        clearTimeout(timer);
        resolve();
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
