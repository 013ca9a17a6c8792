import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RunnerError, openAtomicWrite, writeFileAtomic } from '@fleetrunner/common';
import type { InstanceCause, RemovalReason } from './instance.js';

/** An acquisition that was live when the state was saved. */
export interface SavedAcquisition {
  key: string;
  slot: number;
  /** Epoch ms. */
  acquiredAt: number;
}

/** One instance as persisted. Connect info (credentials) is never persisted. */
export interface SavedInstance {
  id: string;
  cause: InstanceCause;
  useCount: number;
  /** Epoch ms. */
  createdAt: number;
  readyAt?: number;
  /** Set when the instance was being removed: removal resumes after a restart. */
  removing?: RemovalReason;
  acquisitions: SavedAcquisition[];
}

/** The whole persisted state, written in one piece. */
export interface SavedState {
  version: 1;
  /** Epoch ms. */
  savedAt: number;
  instances: SavedInstance[];
}

/** Where the state lives. `save` must replace the previous state atomically. */
export interface StateStore {
  /** For logs: a path or a name. */
  readonly location: string;
  /** The last saved state; undefined when none was ever saved. Rejects on unreadable or invalid state. */
  load(options?: { signal?: AbortSignal }): Promise<SavedState | undefined>;
  save(state: SavedState, options?: { signal?: AbortSignal }): Promise<void>;
  /**
   * Optional, and then preferred by the taskscaler: saves the same state as `save` given the JSON text of each
   * instance (`JSON.stringify` of one SavedInstance), so that only the instances that changed are serialized
   * again. Replaces the previous state atomically, as `save` does.
   */
  saveSerialized?(savedAt: number, instances: readonly string[], options?: { signal?: AbortSignal }): Promise<void>;
}

const FILE = 'instances.json';
/** Instance texts joined per write: large enough to be few writes, small enough not to hold the event loop. */
const CHUNK = 1_000;

/** The JSON text of a whole state from its instances' texts: what `JSON.stringify(state)` gives. */
export function stateText(savedAt: number, instances: readonly string[]): string {
  return `{"version":1,"savedAt":${JSON.stringify(savedAt)},"instances":[${instances.join(',')}]}`;
}

/**
 * `<dir>/instances.json`, written as a temporary file, fsynced, then renamed over the old one, so a crash leaves
 * either the old or the new state. The directory is created with mode 0700, the file with 0600.
 */
export class FileStateStore implements StateStore {
  readonly location: string;

  constructor(readonly dir: string) {
    this.location = join(dir, FILE);
  }

  async load(options: { signal?: AbortSignal } = {}): Promise<SavedState | undefined> {
    let text: string;
    try {
      text = await readFile(this.location, { encoding: 'utf8', signal: options.signal });
    } catch (err) {
      if (err instanceof Error && 'code' in err && err.code === 'ENOENT') return undefined;
      throw RunnerError.wrap(`reading ${this.location}`, err);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw RunnerError.wrap(`parsing ${this.location}`, err, 'invalid_argument');
    }
    return parseSavedState(json, this.location);
  }

  async save(state: SavedState): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    try {
      await writeFileAtomic(this.location, JSON.stringify(state), { mode: 0o600 });
    } catch (err) {
      throw RunnerError.wrap(`writing ${this.location}`, err);
    }
  }

  /**
   * The same file as `save`, written in chunks of instances so that a large state never holds the event loop
   * for long; temporary file, fsync, rename and directory fsync as with `save`.
   */
  async saveSerialized(savedAt: number, instances: readonly string[]): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    let file: Awaited<ReturnType<typeof openAtomicWrite>>;
    try {
      file = await openAtomicWrite(this.location, { mode: 0o600 });
    } catch (err) {
      throw RunnerError.wrap(`writing ${this.location}`, err);
    }
    try {
      const { stream } = file;
      // One chunk in flight at a time: memory stays at one chunk, and a failed write rejects here.
      const write = (text: string): Promise<void> =>
        new Promise<void>((resolve, reject) => {
          stream.write(text, (err) => (err ? reject(err) : resolve()));
        });
      // The text stateText() builds, in pieces.
      await write(`{"version":1,"savedAt":${JSON.stringify(savedAt)},"instances":[`);
      for (let i = 0; i < instances.length; i += CHUNK) {
        await write((i > 0 ? ',' : '') + instances.slice(i, i + CHUNK).join(','));
      }
      await write(']}');
      await file.commit();
    } catch (err) {
      await file.abort();
      throw RunnerError.wrap(`writing ${this.location}`, err);
    }
  }
}

const CAUSES: readonly string[] = ['requested', 'appeared', 'restored', 'preexisting'];
const REASONS: readonly string[] = ['idle', 'max_use_count', 'unhealthy', 'ready_failed', 'preexisting', 'restored_with_acquisitions', 'broken', 'shutdown'];

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(v: unknown, path: string, where: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(where, `${path}: want a number`);
  return v;
}

function bad(where: string, msg: string): RunnerError {
  return new RunnerError('invalid_argument', `${where}: ${msg}`);
}

/** Narrows parsed JSON to a SavedState; throws `invalid_argument` naming the bad path. */
export function parseSavedState(json: unknown, where: string): SavedState {
  if (!isRecord(json) || json.version !== 1) throw bad(where, 'not a version 1 taskscaler state');
  if (!Array.isArray(json.instances)) throw bad(where, 'instances: want a list');
  const instances = json.instances.map((raw: unknown, i): SavedInstance => {
    const at = `instances[${i}]`;
    if (!isRecord(raw) || typeof raw.id !== 'string' || raw.id === '') throw bad(where, `${at}.id: want a string`);
    if (typeof raw.cause !== 'string' || !CAUSES.includes(raw.cause)) throw bad(where, `${at}.cause: unknown`);
    if (raw.removing !== undefined && (typeof raw.removing !== 'string' || !REASONS.includes(raw.removing))) {
      throw bad(where, `${at}.removing: unknown reason`);
    }
    if (!Array.isArray(raw.acquisitions)) throw bad(where, `${at}.acquisitions: want a list`);
    const acquisitions = raw.acquisitions.map((a: unknown, j): SavedAcquisition => {
      const ap = `${at}.acquisitions[${j}]`;
      if (!isRecord(a) || typeof a.key !== 'string') throw bad(where, `${ap}.key: want a string`);
      return { key: a.key, slot: num(a.slot, `${ap}.slot`, where), acquiredAt: num(a.acquiredAt, `${ap}.acquiredAt`, where) };
    });
    const out: SavedInstance = {
      id: raw.id,
      cause: raw.cause as InstanceCause,
      useCount: num(raw.useCount, `${at}.useCount`, where),
      createdAt: num(raw.createdAt, `${at}.createdAt`, where),
      acquisitions,
    };
    if (raw.readyAt !== undefined) out.readyAt = num(raw.readyAt, `${at}.readyAt`, where);
    if (raw.removing !== undefined) out.removing = raw.removing as RemovalReason;
    return out;
  });
  return { version: 1, savedAt: num(json.savedAt, 'savedAt', where), instances };
}
