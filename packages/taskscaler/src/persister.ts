import type { SavedState, StateStore } from './state-store.js';

/**
 * Saves snapshots to a StateStore without ever running two saves at once: changes made while a save is in
 * flight are folded into one more save, so a burst of slot operations costs one write, not one each.
 */
export class Persister {
  private dirty = false;
  private writing: Promise<void> | undefined;
  private lastError: unknown;

  constructor(
    private readonly store: StateStore | undefined,
    private readonly snapshot: () => SavedState,
    private readonly onError: (err: unknown) => void,
  ) {}

  get enabled(): boolean {
    return this.store !== undefined;
  }

  /** Notes that the state changed; a save starts after the current synchronous burst. */
  markDirty(): void {
    if (!this.store) return;
    this.dirty = true;
    this.writing ??= this.loop(this.store);
  }

  /** Saves the current state and waits for it; resolves false when the last save failed. */
  async flush(): Promise<boolean> {
    if (!this.store) return true;
    this.markDirty();
    while (this.writing) await this.writing;
    return this.lastError === undefined;
  }

  private async loop(store: StateStore): Promise<void> {
    await Promise.resolve();
    try {
      while (this.dirty) {
        this.dirty = false;
        try {
          await store.save(this.snapshot());
          this.lastError = undefined;
        } catch (err) {
          this.lastError = err;
          this.onError(err);
          // The next change retries; looping here would spin on a full disk.
          break;
        }
      }
    } finally {
      this.writing = undefined;
    }
  }
}
