import type { Clock, Timer } from '@fleetrunner/common';
import type { SavedState, StateStore } from './state-store.js';

/** A snapshot as instance texts (see StateImage). */
export interface SerializedState {
  savedAt: number;
  instances: readonly string[];
}

/**
 * Saves snapshots to a StateStore: never two saves at once, and at most one every `minIntervalMs`, so a busy
 * fleet costs one snapshot a second rather than one per slot operation (a 100,000-instance snapshot is ~12 MB
 * of JSON). Changes made between saves fold into the next one; `flush` saves at once. The snapshot is taken
 * synchronously, so it is one consistent state; with a store that takes instance texts (`saveSerialized`) and a
 * `serialize` source, only the instances changed since the last save are serialized and the write is chunked.
 */
export class Persister {
  private dirty = false;
  private writing: Promise<void> | undefined;
  private timer: Timer | undefined;
  private lastSaveAt = Number.NEGATIVE_INFINITY;
  private lastError: unknown;

  constructor(
    private readonly store: StateStore | undefined,
    private readonly snapshot: () => SavedState,
    private readonly onError: (err: unknown) => void,
    private readonly clock: Clock,
    private readonly minIntervalMs: number,
    private readonly serialize?: () => SerializedState,
  ) {}

  get enabled(): boolean {
    return this.store !== undefined;
  }

  /** Notes that the state changed; a save follows after the current synchronous burst or the interval. */
  markDirty(): void {
    if (!this.store) return;
    this.dirty = true;
    if (!this.writing && !this.timer) this.writing = this.loop(this.store, false);
  }

  /** Saves the current state now and waits for it; resolves false when the save failed. */
  async flush(): Promise<boolean> {
    if (!this.store) return true;
    this.dirty = true;
    while (this.dirty && this.lastError === undefined) {
      this.timer?.clear();
      this.timer = undefined;
      this.writing ??= this.loop(this.store, true);
      await this.writing;
    }
    const ok = this.lastError === undefined;
    this.lastError = undefined;
    return ok;
  }

  private async loop(store: StateStore, now: boolean): Promise<void> {
    await Promise.resolve();
    try {
      while (this.dirty) {
        const wait = this.lastSaveAt + this.minIntervalMs - this.clock.now();
        if (!now && wait > 0) {
          this.timer = this.clock.setTimeout(() => {
            this.timer = undefined;
            if (this.dirty) this.writing ??= this.loop(store, false);
          }, wait);
          return;
        }
        this.dirty = false;
        this.lastSaveAt = this.clock.now();
        try {
          if (this.serialize && store.saveSerialized) {
            const s = this.serialize();
            await store.saveSerialized(s.savedAt, s.instances);
          } else {
            await store.save(this.snapshot());
          }
          this.lastError = undefined;
        } catch (err) {
          this.lastError = err;
          this.onError(err);
          // The next change retries; looping here would spin on a full disk.
          return;
        }
      }
    } finally {
      this.writing = undefined;
    }
  }
}
