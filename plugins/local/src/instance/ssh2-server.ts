import { readFileSync } from 'node:fs';
import ssh2, { type Connection, type ServerChannel, type Session } from 'ssh2';
import { authenticate, parseAuthorizedKeys, type AuthPolicy } from './ssh2-auth.js';
import { runCommand, type RunningCommand } from './command.js';
import { forward } from './forwarding.js';
import { INSTANCE_MARKER } from '../proc.js';
import type { Ssh2ServerConfig } from './server-config.js';

/** A running ssh2-mode instance server. */
export interface InstanceServer {
  /** Resolves once listening; rejects when the address cannot be bound. */
  listening: Promise<{ port: number }>;
  /** Stops accepting, kills every running command, closes connections. Idempotent. */
  stop(): void;
}

/** The environment of every command; the instance marker (set by the plugin on this process) is passed on. */
function baseEnv(cfg: Ssh2ServerConfig, username: string): NodeJS.ProcessEnv {
  const marker = process.env[INSTANCE_MARKER];
  return {
    HOME: cfg.home,
    USER: username,
    LOGNAME: username,
    SHELL: '/bin/sh',
    PATH: cfg.path,
    LANG: process.env.LANG ?? 'C.UTF-8',
    ...(marker ? { [INSTANCE_MARKER]: marker } : {}),
  };
}

/** Registers a command until its channel closes. */
type Track = (cmd: RunningCommand, stream: ServerChannel) => void;

function handleSession(session: Session, cfg: Ssh2ServerConfig, peer: string, track: Track): void {
  const env: Record<string, string> = {};
  let command: RunningCommand | undefined;
  const start = (stream: ServerChannel, args: string[]): void => {
    // Like the sshd-mode wrapper: the client may set any variable but HOME, PATH and the instance marker.
    const base = baseEnv(cfg, cfg.username);
    const cmdEnv: NodeJS.ProcessEnv = { ...base, SSH_CONNECTION: `${peer} ${cfg.ip} ${cfg.port}`, ...env, HOME: base.HOME, PATH: base.PATH };
    if (base[INSTANCE_MARKER]) cmdEnv[INSTANCE_MARKER] = base[INSTANCE_MARKER];
    const cmd = runCommand(stream, args, { cwd: cfg.home, env: cmdEnv });
    command = cmd;
    track(cmd, stream);
  };
  session.on('env', (accept, _reject, info) => {
    env[info.key] = info.val;
    accept?.();
  });
  // No real terminal is allocated; accepting keeps clients that ask for one (ssh -t) working with plain pipes.
  session.on('pty', (accept) => accept?.());
  session.on('window-change', (accept) => accept?.());
  session.on('signal', (accept, reject, info) => {
    if (command?.signal(info.name)) accept?.();
    else reject?.();
  });
  session.on('exec', (accept, _reject, info) => start(accept(), ['-c', info.command]));
  session.on('shell', (accept) => start(accept(), []));
  session.on('close', () => command?.kill());
}

function handleConnection(client: Connection, cfg: Ssh2ServerConfig, policy: AuthPolicy, peer: string, running: Set<RunningCommand>): void {
  const mine = new Set<RunningCommand>();
  // Small request/reply packets would otherwise wait on Nagle's algorithm plus delayed ACKs (~40 ms each).
  (client as Connection & { setNoDelay?(noDelay: boolean): void }).setNoDelay?.(true);
  client.on('error', () => {
    // a peer that disconnects abruptly (or a readiness probe) is not an error of the instance
  });
  client.on('authentication', (ctx) => authenticate(ctx, policy));
  const track: Track = (cmd, stream) => {
    mine.add(cmd);
    running.add(cmd);
    stream.once('close', () => {
      mine.delete(cmd);
      running.delete(cmd);
    });
  };
  client.on('ready', () => {
    client.on('session', (accept) => handleSession(accept(), cfg, peer, track));
    client.on('tcpip', (accept, reject, info) => forward(accept, reject, { host: info.destIP, port: info.destPort }));
    client.on('openssh.streamlocal', (accept, reject, info) => forward(accept, reject, { path: info.socketPath }));
  });
  client.on('close', () => {
    for (const c of mine) c.kill();
  });
}

/** Starts the SSH server of an ssh2-mode instance from its config. */
export function startInstanceServer(cfg: Ssh2ServerConfig): InstanceServer {
  const policy: AuthPolicy = {
    username: cfg.username,
    keys: parseAuthorizedKeys(readFileSync(cfg.authorizedKeysPath, 'utf8')),
    ...(cfg.passwordHash ? { passwordHash: cfg.passwordHash } : {}),
  };
  const running = new Set<RunningCommand>();
  // ssh2 clients allow OpenSSH extensions (direct-streamlocal@openssh.com) only towards servers whose version
  // string says OpenSSH ≥ 5 (their `strictVendor` default). This server implements those extensions, so it says so.
  const ident = 'OpenSSH_8.0-compatible fleetrunner-local';
  const server = new ssh2.Server({ hostKeys: [readFileSync(cfg.hostKeyPath)], ident }, (client, info) =>
    handleConnection(client, cfg, policy, `${info.ip} ${info.port}`, running),
  );
  const listening = new Promise<{ port: number }>((resolve, reject) => {
    server.once('error', reject);
    server.listen(cfg.port, cfg.ip, () => {
      server.off('error', reject);
      const addr = server.address();
      resolve({ port: typeof addr === 'object' && addr ? addr.port : cfg.port });
    });
  });
  let stopped = false;
  return {
    listening,
    stop() {
      if (stopped) return;
      stopped = true;
      for (const c of running) c.kill();
      server.close();
    },
  };
}
