import type { InstanceRecord } from './instance.js';
import type { SavedAcquisition, SavedInstance } from './state-store.js';

/** The live acquisitions of one instance, as the state file holds them. */
export type SavedAcquisitionsOf = (r: InstanceRecord) => SavedAcquisition[];

/** One instance as the state file holds it (the key order is the file's). */
export function savedInstance(r: InstanceRecord, acquisitionsOf: SavedAcquisitionsOf): SavedInstance {
  const s: SavedInstance = {
    id: r.id,
    cause: r.cause,
    useCount: r.useCount,
    createdAt: r.createdAt,
    acquisitions: r.acquired > 0 ? acquisitionsOf(r) : [],
  };
  if (r.readyAt !== undefined) s.readyAt = r.readyAt;
  if (r.removal) s.removing = r.removal.reason;
  return s;
}

/**
 * The state file's instance list kept as one JSON text per instance, so that a save re-serializes only the
 * instances that changed since the last one (a 100,000-instance state is ~12 MB of JSON). Instances sit in an
 * array (a removal moves the last one into its place), so taking a snapshot is one copy of the array.
 * Disabled (state storage off), every call is a no-op.
 */
export class StateImage {
  private readonly records: InstanceRecord[] = [];
  private readonly texts: string[] = [];
  /** Instances whose text is stale. */
  private readonly dirty = new Set<InstanceRecord>();

  constructor(readonly enabled: boolean) {}

  get size(): number {
    return this.records.length;
  }

  /** Instances waiting to be serialized again. */
  get stale(): number {
    return this.dirty.size;
  }

  add(r: InstanceRecord): void {
    if (!this.enabled || r.imagePos >= 0) return;
    r.imagePos = this.records.length;
    this.records.push(r);
    this.texts.push('');
    this.dirty.add(r);
  }

  /** Something of `r` that the state file holds changed: its text is made again at the next render. */
  touch(r: InstanceRecord): void {
    if (r.imagePos < 0) return;
    this.dirty.add(r);
  }

  remove(r: InstanceRecord): void {
    const i = r.imagePos;
    if (i < 0) return;
    const lastRecord = this.records.pop()!;
    const lastText = this.texts.pop()!;
    if (lastRecord !== r) {
      this.records[i] = lastRecord;
      this.texts[i] = lastText;
      lastRecord.imagePos = i;
    }
    r.imagePos = -1;
    this.dirty.delete(r);
  }

  /** The current instance texts (a snapshot: later changes do not alter the returned array). */
  render(acquisitionsOf: SavedAcquisitionsOf): string[] {
    for (const r of this.dirty) this.texts[r.imagePos] = JSON.stringify(savedInstance(r, acquisitionsOf));
    this.dirty.clear();
    return this.texts.slice();
  }
}
