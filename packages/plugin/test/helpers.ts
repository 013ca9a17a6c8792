// Helpers of the plugin tests, also used by the fleeting tests (as `@fleetrunner/plugin/test-helpers`).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, memorySink, type LogEntry, type Logger } from '@fleetrunner/common';

const here = dirname(fileURLToPath(import.meta.url));

/** The compiled fixture program `name` (dist/test/fixtures/<name>.js). */
export function fixture(name: string): string {
  return join(here, 'fixtures', `${name}.js`);
}

/** A trace-level logger that records entries and lets a test wait for one. */
export function recordingLogger(): { logger: Logger; entries: LogEntry[]; waitFor(pred: (e: LogEntry) => boolean, timeoutMs?: number): Promise<LogEntry> } {
  const sink = memorySink();
  const waiters: { pred: (e: LogEntry) => boolean; resolve(e: LogEntry): void }[] = [];
  const logger = createLogger({
    level: 'trace',
    sink: (e) => {
      sink(e);
      for (const w of [...waiters]) {
        if (w.pred(e)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(e);
        }
      }
    },
  });
  return {
    logger,
    entries: sink.entries,
    waitFor(pred, timeoutMs = 20_000) {
      const found = sink.entries.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise<LogEntry>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('log entry did not arrive in time')), timeoutMs);
        waiters.push({
          pred,
          resolve: (e) => {
            clearTimeout(timer);
            resolve(e);
          },
        });
      });
    },
  };
}

/** True when no process `pid` runs (gone, or a zombie waiting for someone else's reap when `zombieOk`). */
export function processGone(pid: number, zombieOk = false): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return zombieOk && state === 'Z';
  } catch {
    return true;
  }
}

/** Polls `pred` every `intervalMs` until true; rejects after `timeoutMs` (a generous bound, not a sleep). */
export async function waitUntil(pred: () => boolean, timeoutMs = 20_000, intervalMs = 20): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
