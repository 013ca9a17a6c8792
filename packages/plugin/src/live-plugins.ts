import { removeStaleSocket } from './socket.js';

/**
 * Process groups of the plugins this host is running. On the host's `exit` event each group is SIGKILLed
 * synchronously, so a host that exits normally (or through `process.exit`) never leaves a plugin behind.
 * (A host killed with SIGKILL cannot run this; then the plugin notices its stdin pipe closing.)
 */
const live = new Map<number, string | undefined>();
let hooked = false;

function killAll(): void {
  for (const [pid, socket] of live) {
    killGroup(pid, 'SIGKILL');
    if (socket) removeStaleSocket(socket);
  }
  live.clear();
}

/** Registers a running plugin's pid (its process group id, as it was spawned detached) and its socket. */
export function trackPlugin(pid: number, socket?: string): void {
  if (!hooked) {
    hooked = true;
    process.on('exit', killAll);
  }
  live.set(pid, socket);
}

/** Forgets a plugin once it has been reaped. */
export function untrackPlugin(pid: number): void {
  live.delete(pid);
}

/** Signals a plugin's whole process group, falling back to the process alone; never throws. */
export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
    return;
  } catch {
    // No such group (already gone, or not a group leader): try the process itself.
  }
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}
