import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { RunnerError, tryParseGoDuration } from '@fleetrunner/common';
import { pluginConfigObject } from '@fleetrunner/fleeting';
import { parseSubnet, subnetCapacity, type Subnet } from './subnet.js';

/** How instances serve SSH: an embedded `ssh2` server (no system dependency) or the system's OpenSSH `sshd`. */
export type LocalMode = 'ssh2' | 'sshd';

/** The validated `plugin_config` of the local plugin. Durations are milliseconds. */
export interface LocalConfig {
  /** Group name; part of ids and of the default state dir. Default `local`. */
  name: string;
  /** Default `ssh2`. */
  mode: LocalMode;
  /** Where instances, keys and state live. Default `$XDG_STATE_HOME/fleetrunner/local/<name>`. */
  stateDir: string;
  /** Default 16. */
  maxSize: number;
  /** Loopback subnet instances take their addresses from. Default 127.77.0.0/16. */
  subnet: Subnet;
  /** SSH port of every instance; 0 (default) = an ephemeral port per instance. */
  port: number;
  /** Default `/usr/sbin/sshd`. */
  sshdPath: string;
  /** Fault injection: an instance reports `creating` this long after it is up. Default 0. */
  bootDelayMs: number;
  /** Fault injection: every Nth requested instance fails (counted from 1 per plugin process); 0 = never. */
  failIncreaseEvery: number;
  /** Fault injection: every Nth id passed to decrease is refused (counted per plugin process); 0 = never. */
  failDecreaseEvery: number;
  /** Fault injection: a running instance is killed and removed out of band this long after it runs; 0 = never. */
  vanishAfterMs: number;
  /** Fault injection: instance ids (strings) or creation indices (numbers, from 1) whose heartbeat fails. */
  unhealthy: readonly (string | number)[];
}

/** Environment values the defaults depend on. */
export interface ConfigEnv {
  XDG_STATE_HOME?: string | undefined;
  HOME?: string | undefined;
}

type Reader = (value: unknown) => { ok: true; value: unknown } | { ok: false; expected: string };

const ok = (value: unknown): { ok: true; value: unknown } => ({ ok: true, value });
const bad = (expected: string): { ok: false; expected: string } => ({ ok: false, expected });

const nonEmptyString = (v: unknown): ReturnType<Reader> => (typeof v === 'string' && v.length > 0 ? ok(v) : bad('a non-empty string'));
const intIn =
  (min: number, max: number, what: string): Reader =>
  (v) =>
    typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? ok(v) : bad(what);
const duration: Reader = (v) => {
  const ms = typeof v === 'string' ? tryParseGoDuration(v) : undefined;
  return ms !== undefined && ms >= 0 ? ok(ms) : bad('a non-negative Go duration string like "2s" or "1m30s"');
};

const READERS: Record<string, Reader> = {
  name: (v) => (typeof v === 'string' && /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(v) ? ok(v) : bad('a name of letters, digits, ".", "_" or "-" (at most 63)')),
  mode: (v) => (v === 'ssh2' || v === 'sshd' ? ok(v) : bad('"ssh2" or "sshd"')),
  state_dir: nonEmptyString,
  max_size: intIn(1, 65_000, 'an integer from 1 to 65000'),
  subnet: (v) => {
    if (typeof v !== 'string') return bad('a CIDR string like "127.77.0.0/16"');
    const s = parseSubnet(v);
    return typeof s === 'string' ? bad(s) : ok(s);
  },
  port: intIn(0, 65_535, 'an integer port from 0 to 65535 (0 = ephemeral per instance)'),
  sshd_path: nonEmptyString,
  boot_delay: duration,
  fail_increase_every: intIn(0, Number.MAX_SAFE_INTEGER, 'a non-negative integer (0 = never)'),
  fail_decrease_every: intIn(0, Number.MAX_SAFE_INTEGER, 'a non-negative integer (0 = never)'),
  vanish_after: duration,
  unhealthy: (v) =>
    Array.isArray(v) && v.every((x) => (typeof x === 'string' && x.length > 0) || (typeof x === 'number' && Number.isInteger(x) && x >= 1))
      ? ok(v)
      : bad('a list of instance ids (strings) or creation indices (integers ≥ 1)'),
};

/**
 * Validates every key of `raw` and fills defaults. Throws an `invalid_argument` RunnerError naming each bad key
 * and what it expects (all problems at once, joined with "; ").
 */
export function parseLocalConfig(raw: unknown, env: ConfigEnv = process.env): LocalConfig {
  const obj = pluginConfigObject(raw);
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, v] of Object.entries(obj)) {
    const reader = READERS[key];
    if (!reader) {
      problems.push(`plugin_config.${key}: unknown key (expected one of ${Object.keys(READERS).join(', ')})`);
      continue;
    }
    const r = reader(v);
    if (r.ok) values[key] = r.value;
    else problems.push(`plugin_config.${key}: expected ${r.expected}, got ${JSON.stringify(v)}`);
  }
  const name = (values.name as string | undefined) ?? 'local';
  const subnet = (values.subnet as Subnet | undefined) ?? (parseSubnet('127.77.0.0/16') as Subnet);
  const maxSize = (values.max_size as number | undefined) ?? 16;
  if (problems.length === 0 && subnetCapacity(subnet, maxSize) < maxSize) {
    problems.push(`plugin_config.max_size: expected at most the ${subnetCapacity(subnet, maxSize)} addresses of subnet ${subnet.text}, got ${maxSize}`);
  }
  if (problems.length > 0) throw new RunnerError('invalid_argument', problems.join('; '), { details: { problems } });
  return {
    name,
    mode: (values.mode as LocalMode | undefined) ?? 'ssh2',
    stateDir: resolveStateDir(values.state_dir as string | undefined, name, env),
    maxSize,
    subnet,
    port: (values.port as number | undefined) ?? 0,
    sshdPath: (values.sshd_path as string | undefined) ?? '/usr/sbin/sshd',
    bootDelayMs: (values.boot_delay as number | undefined) ?? 0,
    failIncreaseEvery: (values.fail_increase_every as number | undefined) ?? 0,
    failDecreaseEvery: (values.fail_decrease_every as number | undefined) ?? 0,
    vanishAfterMs: (values.vanish_after as number | undefined) ?? 0,
    unhealthy: (values.unhealthy as (string | number)[] | undefined) ?? [],
  };
}

function resolveStateDir(given: string | undefined, name: string, env: ConfigEnv): string {
  const home = env.HOME || homedir();
  if (given !== undefined) {
    if (given === '~' || given.startsWith('~/')) return join(home, given.slice(1));
    return isAbsolute(given) ? given : resolve(given);
  }
  const base = env.XDG_STATE_HOME && isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : join(home, '.local', 'state');
  return join(base, 'fleetrunner', 'local', name);
}
