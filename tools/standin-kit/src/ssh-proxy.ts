import type { AcceptConnection, Client, ClientChannel, PseudoTtyOptions, RejectConnection, ServerChannel, Session } from 'ssh2';

/** Resolves once everything written to `w` has been handed to the SSH layer. */
function drained(w: NodeJS.WritableStream & { writableNeedDrain?: boolean }): Promise<void> {
  return w.writableNeedDrain ? new Promise((r) => w.once('drain', () => r())) : Promise.resolve();
}

/**
 * Splices a session channel of the instance's SSH server onto a channel of the machine behind it: stdin, stdout
 * and stderr flow through, the exit status (or signal) is passed on after the last output, and either side
 * closing closes the other.
 */
function splice(local: ServerChannel, remote: ClientChannel): void {
  let exit: { code: number } | { signal: string; core: boolean; message: string } = { code: 255 };
  let done = false;
  local.pipe(remote);
  remote.pipe(local, { end: false });
  remote.stderr.pipe(local.stderr, { end: false });
  remote.on('exit', (code: number | null, signal?: string, core?: boolean, message?: string) => {
    exit = typeof code === 'number' ? { code } : { signal: signal ?? 'KILL', core: core ?? false, message: message ?? '' };
  });
  remote.once('close', () => {
    if (done) return;
    done = true;
    void Promise.all([drained(local), drained(local.stderr)]).then(() => {
      if ('code' in exit) local.exit(exit.code);
      else local.exit(exit.signal, exit.core, exit.message);
      local.end();
    });
  });
  local.once('close', () => {
    done = true;
    remote.close();
  });
  local.on('error', () => remote.close());
  remote.on('error', () => local.destroy());
}

/** Fails a session channel the way OpenSSH does when the command cannot start. */
function fail(local: ServerChannel, message: string): void {
  local.stderr.write(`${message}\n`);
  local.exit(255);
  local.end();
}

/** Serves one session channel by running its exec/shell request on `upstream`. */
export function proxySession(session: Session, upstream: Promise<Client>): void {
  const env: Record<string, string> = {};
  let pty: PseudoTtyOptions | undefined;
  let remote: ClientChannel | undefined;
  const start = (local: ServerChannel, open: (up: Client, cb: (err: Error | undefined, ch: ClientChannel) => void) => void): void => {
    upstream.then(
      (up) =>
        open(up, (err, ch) => {
          if (err) fail(local, `stand-in: starting the command: ${err.message}`);
          else {
            remote = ch;
            splice(local, ch);
          }
        }),
      (err: unknown) => fail(local, `stand-in: reaching the instance: ${err instanceof Error ? err.message : String(err)}`),
    );
  };
  session.on('env', (accept, _reject, info) => {
    env[info.key] = info.val;
    accept?.();
  });
  session.on('pty', (accept, _reject, info) => {
    pty = { rows: info.rows, cols: info.cols, height: info.height, width: info.width, modes: info.modes };
    accept?.();
  });
  session.on('window-change', (accept, _reject, info) => {
    remote?.setWindow(info.rows, info.cols, info.height, info.width);
    accept?.();
  });
  session.on('signal', (accept, reject, info) => {
    if (!remote) return reject?.();
    remote.signal(info.name);
    accept?.();
  });
  session.on('exec', (accept, _reject, info) => {
    start(accept(), (up, cb) => up.exec(info.command, { env, ...(pty ? { pty } : {}) }, cb));
  });
  session.on('shell', (accept) => {
    start(accept(), (up, cb) => up.shell(pty ?? false, { env }, cb));
  });
  session.on('close', () => remote?.close());
}

/** Serves a forwarding channel (`direct-tcpip` or `direct-streamlocal`) through `upstream`. */
export function proxyForward(
  accept: AcceptConnection<ServerChannel>,
  reject: RejectConnection,
  upstream: Promise<Client>,
  open: (up: Client, cb: (err: Error | undefined, ch: ClientChannel) => void) => void,
): void {
  upstream.then(
    (up) =>
      open(up, (err, remote) => {
        if (err) return reject();
        const local = accept();
        const teardown = (): void => {
          local.destroy();
          remote.destroy();
        };
        local.on('error', teardown);
        remote.on('error', teardown);
        local.once('close', teardown);
        remote.once('close', teardown);
        local.pipe(remote).pipe(local);
      }),
    () => reject(),
  );
}
