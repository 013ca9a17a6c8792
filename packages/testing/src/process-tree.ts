import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

function parentOf(pid: number): number | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** Every descendant of `root` (children, their children…) found in /proc; empty where /proc is missing. */
export function descendants(root: number): number[] {
  let names: string[];
  try {
    names = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return [];
  }
  const children = new Map<number, number[]>();
  for (const n of names) {
    const pid = Number(n);
    const ppid = parentOf(pid);
    if (ppid !== undefined) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  }
  const out: number[] = [];
  const queue = [...(children.get(root) ?? [])];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

/**
 * Sends `signal` to `root` and all its descendants (collected first, since they are re-parented once `root`
 * dies). OpenSSH's per-connection processes start sessions of their own, so a process-group kill misses them.
 */
export function killTree(root: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  killAll([...descendants(root).reverse(), root], signal);
}

/** Sends `signal` to each pid in order, skipping the ones already gone. */
export function killAll(pids: readonly number[], signal: NodeJS.Signals = 'SIGKILL'): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** The pid of a `local` plugin instance's server process, from the `instance.json` in its directory. */
export function localInstancePid(instanceDir: string): number {
  const rec: unknown = JSON.parse(readFileSync(join(instanceDir, 'instance.json'), 'utf8'));
  const pid = typeof rec === 'object' && rec !== null ? (rec as { pid?: unknown }).pid : undefined;
  if (typeof pid !== 'number' || pid <= 0) throw new Error(`no pid in ${instanceDir}/instance.json`);
  return pid;
}
