import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { RunnerError, writeFileAtomic } from '@fleetrunner/common';
import type { LocalMode } from './config.js';
import { generateEd25519, type SshKeyPair } from '@fleetrunner/fleeting';

/**
 * One instance as kept in `<state_dir>/instances/<id>/instance.json`: enough for a restarted plugin to find it
 * again. Times are ms since the epoch on the group's clock.
 */
export interface InstanceRecord {
  id: string;
  /** Creation index, from 1; also the number in the id. */
  index: number;
  mode: LocalMode;
  ip: string;
  port: number;
  username: string;
  home: string;
  /** Root process of the instance (0 while launching). */
  pid: number;
  /** /proc start time of `pid`, to tell it from a later process reusing the pid. */
  startTicks?: string;
  /** `authorized_keys`-style line of the host key. */
  hostKey: string;
  createdAt: number;
  /** When the instance first accepted an SSH connection. */
  readyAt?: number;
  /** Set by decrease; the files go once the processes are gone. */
  deleting?: boolean;
}

const str = (v: unknown): v is string => typeof v === 'string';
const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function toRecord(v: unknown): InstanceRecord | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const r = v as Record<string, unknown>;
  if (!str(r.id) || !num(r.index) || (r.mode !== 'ssh2' && r.mode !== 'sshd') || !str(r.ip) || !num(r.port)) return undefined;
  if (!str(r.username) || !str(r.home) || !num(r.pid) || !str(r.hostKey) || !num(r.createdAt)) return undefined;
  return {
    id: r.id,
    index: r.index,
    mode: r.mode,
    ip: r.ip,
    port: r.port,
    username: r.username,
    home: r.home,
    pid: r.pid,
    ...(str(r.startTicks) ? { startTicks: r.startTicks } : {}),
    hostKey: r.hostKey,
    createdAt: r.createdAt,
    ...(num(r.readyAt) ? { readyAt: r.readyAt } : {}),
    ...(r.deleting === true ? { deleting: true } : {}),
  };
}

/** Paths and persistence of one group's state directory. */
export class StateStore {
  constructor(readonly dir: string) {}

  get instancesDir(): string {
    return join(this.dir, 'instances');
  }

  instanceDir(id: string): string {
    return join(this.instancesDir, id);
  }

  async ensure(): Promise<void> {
    try {
      await mkdir(this.instancesDir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw RunnerError.wrap(`creating state dir ${this.dir}`, err, 'invalid_argument');
    }
  }

  /** The group key, generated on first use and kept so instances created earlier keep accepting it. */
  async groupKey(comment: string): Promise<SshKeyPair> {
    const path = join(this.dir, 'id_ed25519');
    try {
      const privateKey = await readFile(path, 'utf8');
      const publicKey = (await readFile(`${path}.pub`, 'utf8')).trim();
      return { privateKey, publicKey };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw RunnerError.wrap('reading group key', err);
    }
    const kp = generateEd25519(comment);
    await writeFileAtomic(`${path}.pub`, kp.publicKey + '\n', { mode: 0o644 });
    await writeFileAtomic(path, kp.privateKey, { mode: 0o600 });
    return kp;
  }

  /** Reserves the next creation index (persisted, so ids are never reused within a state dir). */
  async nextIndex(): Promise<number> {
    const path = join(this.dir, 'group.json');
    let next = 1;
    try {
      const parsed = JSON.parse(await readFile(path, 'utf8')) as unknown;
      const n = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>).nextIndex : undefined;
      if (num(n) && n >= 1) next = n;
    } catch {
      // first instance of this state dir
    }
    await writeFileAtomic(path, JSON.stringify({ nextIndex: next + 1 }) + '\n', { mode: 0o644 });
    return next;
  }

  async save(record: InstanceRecord): Promise<void> {
    await writeFileAtomic(join(this.instanceDir(record.id), 'instance.json'), JSON.stringify(record, null, 2) + '\n', { mode: 0o644 });
  }

  /**
   * Every instance record on disk. Directories without a readable record (a launch cut short) are returned in
   * `broken` for the caller to remove.
   */
  async list(): Promise<{ records: InstanceRecord[]; broken: string[] }> {
    let names: string[];
    try {
      names = await readdir(this.instancesDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], broken: [] };
      throw RunnerError.wrap('listing instances', err);
    }
    const records: InstanceRecord[] = [];
    const broken: string[] = [];
    for (const name of names.sort()) {
      const rec = await this.load(name);
      if (rec && rec.id === name) records.push(rec);
      else broken.push(name);
    }
    return { records, broken };
  }

  async load(id: string): Promise<InstanceRecord | undefined> {
    try {
      return toRecord(JSON.parse(await readFile(join(this.instanceDir(id), 'instance.json'), 'utf8')));
    } catch {
      return undefined;
    }
  }

  async exists(id: string): Promise<boolean> {
    return (await this.load(id)) !== undefined;
  }

  async remove(id: string): Promise<void> {
    await rm(this.instanceDir(id), { recursive: true, force: true, maxRetries: 3 });
  }
}
