// Real SSH peers for the connector's tests: OpenSSH sshd for a /bin/sh user, and the local fleeting plugin's
// instances (in process). Every address comes from 127.100.0.0/16, which no other package's tests use.
import { readFileSync } from 'node:fs';
import { defaultConnectorConfig, type ConnectInfo, type ConnectorConfig } from '@fleetrunner/fleeting';
import { LocalInstanceGroup } from '@fleetrunner/plugin-local';
import { ensureShUser, startSshd, tmpDir, waitFor, type SshdHandle, type Teardownable } from '@fleetrunner/testing';

/** The login user of the OpenSSH peers (its own, so that process checks never see other packages' tests). */
export const SH_USER = 'fr-connector';

/** Skip reason when real OpenSSH peers cannot run here, or false. */
export const noOpenSsh: string | false = process.getuid?.() !== 0 ? 'needs root to create a /bin/sh user for sshd' : false;

/** A real OpenSSH sshd and the ConnectInfo a plugin would report for it. */
export interface OpenSshPeer {
  sshd: SshdHandle;
  /** ConnectInfo for this sshd under instance `id` (default `i-1`), with the authorized key. */
  info(id?: string, over?: Partial<ConnectInfo>): ConnectInfo;
  /** Logins sshd accepted so far (one per SSH connection). */
  logins(): number;
}

/** Starts sshd on `host` (a 127.100/16 address) for {@link SH_USER}; stopped when `t` ends. */
export async function startOpenSsh(t: Teardownable, host: string, options: readonly string[] = []): Promise<OpenSshPeer> {
  const user = await ensureShUser(SH_USER);
  const sshd = await startSshd({ user: user.name, host, options });
  t.teardown(() => sshd.stop());
  return {
    sshd,
    info: (id = 'i-1', over = {}) => ({
      ...defaultConnectorConfig(),
      id,
      internalAddr: sshd.host,
      externalAddr: '',
      protocolPort: sshd.port,
      username: user.name,
      key: Buffer.from(sshd.clientKey),
      ...over,
    }),
    logins: () => sshd.log().split('\n').filter((l) => l.includes('Accepted ')).length,
  };
}

/** A running in-process local plugin group (ssh2 mode unless `mode` says otherwise). */
export interface LocalPeer {
  group: LocalInstanceGroup;
  /** Ids of the running instances created at start. */
  ids: string[];
}

/**
 * Starts a local plugin group on a temp state dir with `instances` running instances; at teardown every instance is
 * decreased (which kills all its processes) and the group shut down.
 */
export async function startLocal(
  t: Teardownable,
  spec: { subnet: string; name?: string; mode?: 'ssh2' | 'sshd'; connector?: Partial<ConnectorConfig>; instances?: number },
): Promise<LocalPeer> {
  const stateDir = tmpDir(t, { prefix: 'connector-local' });
  const group = new LocalInstanceGroup();
  const ids: string[] = [];
  t.teardown(async () => {
    if (ids.length > 0) await group.decrease(ids).catch(() => undefined);
    await group.shutdown();
  });
  await group.init({
    pluginConfig: { state_dir: stateDir, subnet: spec.subnet, max_size: 4, mode: spec.mode ?? 'ssh2', ...(spec.name ? { name: spec.name } : {}) },
    connector: defaultConnectorConfig(spec.connector),
  });
  const n = spec.instances ?? 1;
  const inc = await group.increase(n);
  if (inc.succeeded !== n) throw new Error(`increase(${n}) succeeded ${inc.succeeded}: ${inc.error?.message}`);
  const running = await waitFor(
    async () => {
      const list = (await group.update()).filter((s) => s.state === 'running');
      return list.length === n ? list : undefined;
    },
    { what: `${n} local instance(s) running`, timeoutMs: 30_000 },
  );
  ids.push(...running.map((s) => s.id));
  return { group, ids };
}

/** True while `pid` is a live process (a zombie counts as gone: it runs nothing). */
export function pidAlive(pid: number): boolean {
  try {
    return !/\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Collects output; resolves waiters when a pattern appears. */
export class Output {
  text = '';
  private waiters: { re: RegExp; resolve: (m: RegExpExecArray) => void }[] = [];

  readonly write = (chunk: Buffer): void => {
    this.text += chunk.toString();
    this.waiters = this.waiters.filter((w) => {
      const m = w.re.exec(this.text);
      if (m) w.resolve(m);
      return !m;
    });
  };

  /** Resolves with the first match of `re`; rejects if `until` (the exec) settles first. */
  waitFor(re: RegExp, until: Promise<unknown>): Promise<RegExpExecArray> {
    const m = re.exec(this.text);
    if (m) return Promise.resolve(m);
    const seen = new Promise<RegExpExecArray>((resolve) => this.waiters.push({ re, resolve }));
    const ended = until.then(
      (v) => Promise.reject(new Error(`ended (${JSON.stringify(v)}) before ${re} appeared in: ${this.text}`)),
      (err: unknown) => Promise.reject(new Error(`failed before ${re} appeared in: ${this.text}`, { cause: err })),
    );
    return Promise.race([seen, ended]);
  }
}
