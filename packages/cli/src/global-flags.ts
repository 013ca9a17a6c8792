import { RunnerError, isLogLevel, type LogLevel } from '@fleetrunner/common';

/** Flags GitLab Runner takes before the command (`runner --debug -l info run …`), with their environment variables. */
export interface GlobalFlags {
  /** `--log-level`/`-l` (`LOG_LEVEL`), or debug from `--debug` (`RUNNER_DEBUG`); undefined when none was given. */
  level: LogLevel | undefined;
  /** `--log-format` (`LOG_FORMAT`): runner, text or json. */
  format: string | undefined;
}

/** logrus level names as the logger's levels (fatal and panic log as error). */
export function parseLogLevel(flag: string, v: string): LogLevel {
  const l = v === 'warning' ? 'warn' : v === 'fatal' || v === 'panic' ? 'error' : v;
  if (!isLogLevel(l)) throw new RunnerError('invalid_argument', `${flag}: expected trace, debug, info, warn, error, fatal or panic, got ${JSON.stringify(v)}`);
  return l;
}

export function parseLogFormat(flag: string, v: string): string {
  if (!['runner', 'text', 'json'].includes(v)) throw new RunnerError('invalid_argument', `${flag}: expected runner, text or json, got ${JSON.stringify(v)}`);
  return v;
}

function truthy(v: string | undefined): boolean {
  return v !== undefined && ['1', 't', 'true', 'yes', 'on'].includes(v.toLowerCase());
}

/**
 * Takes the global flags off the front of `argv` (up to the command); the environment fills what the flags leave
 * unset. Returns the flags and the rest (command first).
 */
export function takeGlobalFlags(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): { globals: GlobalFlags; rest: string[] } {
  let level: LogLevel | undefined;
  let format: string | undefined;
  let debug = false;
  let i = 0;
  const valueOf = (a: string, name: string): string => {
    const eq = a.indexOf('=');
    if (eq >= 0) return a.slice(eq + 1);
    const v = argv[++i];
    if (v === undefined) throw new RunnerError('invalid_argument', `${name}: a value is required`);
    return v;
  };
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    const name = a.split('=')[0]!;
    if (name === '--debug') debug = a.includes('=') ? truthy(a.slice(8)) : true;
    else if (name === '--log-level' || name === '-l') level = parseLogLevel(name, valueOf(a, name));
    else if (name === '--log-format') format = parseLogFormat(name, valueOf(a, name));
    else break;
  }
  if (level === undefined && env.LOG_LEVEL) level = parseLogLevel('LOG_LEVEL', env.LOG_LEVEL);
  if (format === undefined && env.LOG_FORMAT) format = parseLogFormat('LOG_FORMAT', env.LOG_FORMAT);
  if (debug || (!argv.slice(0, i).some((a) => a.startsWith('--debug')) && truthy(env.RUNNER_DEBUG))) level = level === 'trace' ? 'trace' : 'debug';
  return { globals: { level, format }, rest: argv.slice(i) };
}
