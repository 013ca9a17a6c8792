import { readFileSync, readdirSync } from 'node:fs';
import { systemClock } from '@fleetrunner/common';

/**
 * A process as recorded in the state dir. `startTicks` (field 22 of /proc/<pid>/stat) tells a process from a later
 * one that reused its pid, e.g. after a reboot; undefined where /proc is not available.
 */
export interface ProcessIdentity {
  pid: number;
  startTicks?: string;
}

interface ProcStat {
  pid: number;
  state: string;
  ppid: number;
  pgrp: number;
  session: number;
  startTicks: string;
}

const HAS_PROC = (() => {
  try {
    readFileSync('/proc/self/stat');
    return true;
  } catch {
    return false;
  }
})();

function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return {
    pid,
    state: rest[0] ?? '',
    ppid: Number(rest[1]),
    pgrp: Number(rest[2]),
    session: Number(rest[3]),
    startTicks: rest[19] ?? '',
  };
}

/** The identity of a live process (pid plus start time where /proc exists). */
export function identify(pid: number): ProcessIdentity {
  const st = HAS_PROC ? readStat(pid) : undefined;
  return st ? { pid, startTicks: st.startTicks } : { pid };
}

/** True when the recorded process still runs: not gone, not a zombie, and not a newer process on the same pid. */
export function isAlive(id: ProcessIdentity): boolean {
  if (id.pid <= 0) return false;
  if (!HAS_PROC) {
    try {
      process.kill(id.pid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
  }
  const st = readStat(id.pid);
  if (!st || st.state === 'Z' || st.state === 'X') return false;
  return id.startTicks === undefined || st.startTicks === id.startTicks;
}

function allStats(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = readStat(Number(name));
    if (st) out.push(st);
  }
  return out;
}

/** Environment variable every process of an instance carries; its value is the instance directory. */
export const INSTANCE_MARKER = 'FLEETRUNNER_LOCAL_INSTANCE';

function hasMarker(pid: number, needle: Buffer): boolean {
  try {
    const env = readFileSync(`/proc/${pid}/environ`);
    const at = env.indexOf(needle);
    return at === 0 || (at > 0 && env[at - 1] === 0);
  } catch {
    return false;
  }
}

interface Membership {
  groups: Set<number>;
  sessions: Set<number>;
  /** `INSTANCE_MARKER=<dir>\0`, or undefined. */
  marker: Buffer | undefined;
}

/**
 * Processes that belong to an instance: those carrying its marker, descendants of known members, and every process
 * sharing a process group or session with one. OpenSSH's per-connection children and ssh2-mode commands run in
 * sessions of their own, and a `nohup cmd &` is re-parented to init once its shell exits: the marker still finds
 * it. `m` grows as members are found. Never includes this process or its own group and session.
 */
function members(roots: readonly number[], m: Membership): number[] {
  const stats = allStats();
  const self = readStat(process.pid);
  const found = new Set<number>();
  for (let changed = true; changed; ) {
    changed = false;
    for (const st of stats) {
      if (found.has(st.pid) || st.pid === process.pid) continue;
      const linked = roots.includes(st.pid) || found.has(st.ppid) || m.groups.has(st.pgrp) || m.sessions.has(st.session);
      if (!linked && !(m.marker && hasMarker(st.pid, m.marker))) continue;
      found.add(st.pid);
      if (st.pgrp !== self?.pgrp) m.groups.add(st.pgrp);
      if (st.session !== self?.session) m.sessions.add(st.session);
      changed = true;
    }
  }
  return [...found];
}

/**
 * Kills an instance: its root process, descendants, their process groups and sessions, and every process whose
 * environment carries `INSTANCE_MARKER=<marker>`. Repeats while new processes appear (a command may fork while it
 * is being killed). Returns how many processes were signalled.
 */
export function killInstanceProcesses(root: ProcessIdentity, marker?: string, signal: NodeJS.Signals = 'SIGKILL'): number {
  const rootAlive = isAlive(root);
  if (!HAS_PROC) {
    if (!rootAlive) return 0;
    for (const target of [-root.pid, root.pid]) {
      try {
        process.kill(target, signal);
      } catch {
        // already gone
      }
    }
    return 1;
  }
  const m: Membership = { groups: new Set(), sessions: new Set(), marker: marker ? Buffer.from(`${INSTANCE_MARKER}=${marker}\0`) : undefined };
  let total = 0;
  for (let round = 0; round < 5; round++) {
    const live = members(round === 0 && rootAlive ? [root.pid] : [], m).filter((pid) => isAlive({ pid }));
    if (live.length === 0) break;
    for (const pid of live) {
      try {
        process.kill(pid, signal);
        total++;
      } catch {
        // raced with its exit
      }
    }
    if (signal !== 'SIGKILL') break;
  }
  return total;
}

/**
 * Resolves true once the process is gone, false when `timeoutMs` passes first. Polls every `intervalMs`
 * (real time: this waits on another process). Rejects when `signal` aborts.
 */
export async function waitForExit(
  id: ProcessIdentity,
  options: { timeoutMs: number; intervalMs?: number; signal?: AbortSignal },
): Promise<boolean> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (!isAlive(id)) return true;
    if (Date.now() >= deadline) return false;
    await systemClock.sleep(options.intervalMs ?? 25, options.signal ? { signal: options.signal } : {});
  }
}
