import { ENV } from './constants.js';

/** Options of {@link watchHost}. */
export interface WatchHostOptions {
  env: NodeJS.ProcessEnv;
  /** Called once when the host is gone, with how it was noticed. */
  onGone: (how: 'stdin_eof' | 'parent_changed') => void;
  /** How often the parent pid is checked, in ms; default 1000. */
  pollMs?: number;
}

/**
 * Notices that the host died so the plugin never outlives it: EOF on the stdin pipe the host holds (only when
 * the host says stdin is such a pipe, see `ENV.lifeline`), and as a fallback the parent pid changing
 * (re-parenting to init or a subreaper). Returns a disposer; its timer is `unref()`ed.
 */
export function watchHost(options: WatchHostOptions): { dispose(): void } {
  let fired = false;
  const gone = (how: 'stdin_eof' | 'parent_changed'): void => {
    if (fired) return;
    fired = true;
    options.onGone(how);
  };
  const cleanups: (() => void)[] = [];
  if (options.env[ENV.lifeline] === 'stdin') {
    const stdin = process.stdin;
    const onEnd = (): void => gone('stdin_eof');
    const drop = (): void => {};
    stdin.on('data', drop);
    stdin.once('end', onEnd);
    stdin.once('close', onEnd);
    stdin.once('error', onEnd);
    stdin.resume();
    cleanups.push(() => {
      stdin.off('data', drop);
      stdin.off('end', onEnd);
      stdin.off('close', onEnd);
      stdin.off('error', onEnd);
      stdin.destroy();
    });
  }
  const initialParent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid !== initialParent) gone('parent_changed');
  }, options.pollMs ?? 1000);
  timer.unref();
  cleanups.push(() => clearInterval(timer));
  return {
    dispose: () => {
      fired = true;
      for (const c of cleanups.splice(0)) c();
    },
  };
}
