import { formatKey } from './toml-nodes.js';
import type { RunnerConfig, RunnerEntry } from './types.js';

/** What changed between two loaded configs, as TOML key paths of the new config. */
export interface ConfigDiff {
  /** Changes a running manager applies on reload: global keys, `[[runners]]` keys, autoscaler policies, added/removed runners. */
  live: string[];
  /**
   * Changes that take effect only after a restart: `listen_address`, and every `[runners.autoscaler]` key except
   * `policy` of a runner that exists in both (its autoscaler was built from the old values).
   */
  restart: string[];
}

/** Keys whose TOML name is not the snake_case of the field minus a trailing `Ms`. */
const RENAMES: Readonly<Record<string, string>> = {
  tlsCaFile: 'tls-ca-file',
  tlsCertFile: 'tls-cert-file',
  tlsKeyFile: 'tls-key-file',
  outputLimitKb: 'output_limit',
  customBuildDirEnabled: 'custom_build_dir.enabled',
  policies: 'policy',
  limitPerSecond: 'limit',
  instanceCreation: 'instance_creation_time_buckets',
  instanceIsRunning: 'instance_is_running_time_buckets',
  instanceDeletion: 'instance_deletion_time_buckets',
  instanceReadiness: 'instance_readiness_time_buckets',
  instanceLifeDuration: 'instance_life_duration_buckets',
};

/** Compared as a whole: a policy list is re-applied as a whole; the cache and plugin tables are opaque here. */
const ATOMIC = new Set(['policies', 'cache', 'pluginConfig', 'nestingConfig', 'environment']);
/** Maps whose keys are the user's own (feature flag names, labels): no renaming. */
const RAW_KEYS = new Set(['featureFlags', 'labels']);
/** Bookkeeping, not configuration. */
const SKIP = new Set(['source']);

/**
 * Says which changes from `a` to `b` apply live and which need a restart (GitLab Runner: only
 * `[[runners.autoscaler.policy]]` of the autoscaler is re-read on reload). Runners are matched by their
 * autoscaler key, URL plus ID (or token when the ID is 0), so reordering them is not a change.
 */
export function diffConfig(a: RunnerConfig, b: RunnerConfig): ConfigDiff {
  const live: string[] = [];
  const restart: string[] = [];
  for (const path of diffObject(a, b, '', false)) {
    if (path.startsWith('runners')) continue;
    (path === 'listen_address' ? restart : live).push(path);
  }
  const oldByKey = new Map(a.runners.map((r, i) => [runnerKey(r), i]));
  const matched = new Set<number>();
  b.runners.forEach((runner, j) => {
    const i = oldByKey.get(runnerKey(runner));
    const prefix = `runners[${j}]`;
    if (i === undefined) {
      live.push(`${prefix} (added)`);
      return;
    }
    matched.add(i);
    for (const path of diffObject(a.runners[i] as RunnerEntry, runner, prefix, false)) {
      const autoscalerKey = path.startsWith(`${prefix}.autoscaler`) && !path.startsWith(`${prefix}.autoscaler.policy`);
      (autoscalerKey ? restart : live).push(path);
    }
  });
  a.runners.forEach((_, i) => {
    if (!matched.has(i)) live.push(`runners[${i}] (removed)`);
  });
  return { live, restart };
}

/** The key upstream keys a runner's autoscaler by (provider.go `runnerScalerKey`). */
function runnerKey(r: RunnerEntry): string {
  return r.id !== 0 ? `${r.url}|${r.id}` : `${r.url}|token:${r.token}`;
}

function diffObject(a: object, b: object, prefix: string, rawKeys: boolean): string[] {
  const out: string[] = [];
  const av = a as Record<string, unknown>;
  const bv = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(av), ...Object.keys(bv)]);
  for (const key of keys) {
    if (SKIP.has(key)) continue;
    const name = rawKeys ? formatKey(key) : (RENAMES[key] ?? snake(key));
    const path = prefix === '' ? name : `${prefix}.${name}`;
    const x = av[key];
    const y = bv[key];
    if (!rawKeys && !ATOMIC.has(key) && isPlainObject(x) && isPlainObject(y)) {
      out.push(...diffObject(x, y, path, RAW_KEYS.has(key)));
    } else if (!same(x, y)) {
      out.push(path);
    }
  }
  return out;
}

function snake(key: string): string {
  return key.replace(/Ms$/, '').replace(/[A-Z]/g, (m) => `_${m.toLowerCase()}`);
}

function isPlainObject(v: unknown): v is object {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Structural equality for config values (numbers by `Object.is` apart from ±0, so `Infinity` compares right). */
function same(x: unknown, y: unknown): boolean {
  if (x === y) return true;
  if (typeof x === 'number' && typeof y === 'number') return Number.isNaN(x) && Number.isNaN(y);
  if (Array.isArray(x) || Array.isArray(y)) {
    return Array.isArray(x) && Array.isArray(y) && x.length === y.length && x.every((v, i) => same(v, y[i]));
  }
  if (isPlainObject(x) && isPlainObject(y)) {
    const xo = x as Record<string, unknown>;
    const yo = y as Record<string, unknown>;
    const keys = new Set([...Object.keys(xo), ...Object.keys(yo)]);
    return [...keys].every((k) => same(xo[k], yo[k]));
  }
  return false;
}
