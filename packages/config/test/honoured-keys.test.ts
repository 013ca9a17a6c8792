// Every config.toml key the schema reads is either acted on outside this package or listed in NOT_HONOURED_KEYS
// (which the schema warns about): a key can neither be parsed and dropped silently, nor stay listed once it is used.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { NOT_HONOURED_KEYS, parseConfig } from '../src/index.js';
import { keyPathPattern } from '../src/not-honoured.js';
import { TableReader } from '../src/table-reader.js';
import type { TomlTable } from '../src/toml-nodes.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** Field names that do not follow from the key's name (camelCase, with a unit suffix or the parent table's name). */
const FIELD_OF: Readonly<Record<string, string>> = {
  'runners.autoscaler.plugin_config': 'pluginConfig',
  'runners.autoscaler.policy': 'policies',
  'runners.autoscaler.policy.periods': 'periods',
  'runners.autoscaler.instance_creation_time_buckets': 'instanceCreation',
  'runners.autoscaler.instance_deletion_time_buckets': 'instanceDeletion',
  'runners.autoscaler.instance_is_running_time_buckets': 'instanceIsRunning',
  'runners.autoscaler.instance_life_duration_buckets': 'instanceLifeDuration',
  'runners.autoscaler.instance_readiness_time_buckets': 'instanceReadiness',
  // The fallback of the per-kind bucket lists: applied by the defaults stage into each of them.
  'runners.autoscaler.instance_operation_time_buckets': 'instanceCreation',
};

/**
 * Listed keys whose field name is also read outside config for another thing: `responseHeaderTimeoutMs` is the GitLab
 * client's own option (set from an environment variable, not from `[runners.artifact]`); `cacheDir` is copied into
 * the executor's settings, but only names a path nothing is stored under (the cache lives on the manager).
 */
const SAME_NAME_ELSEWHERE = new Set(['runners.artifact.response_header_timeout', 'runners.cache_dir']);

/** The schema's keys: every key a TableReader getter asks for, walking every section (absent ones as empty tables). */
function schemaKeys(): { leaves: Set<string>; sections: Set<string>; ignored: Set<string> } {
  const leaves = new Set<string>();
  const sections = new Set<string>();
  const ignored = new Set<string>();
  const proto = TableReader.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const original = { get: proto['get']!, section: proto['section']!, tables: proto['tables']!, ignore: proto['ignore']!, plain: proto['plain']! };
  const empty = (): TomlTable => ({ type: 'table', entries: new Map(), kind: 'implicit', line: 0, column: 0 }) as unknown as TomlTable;
  proto['get'] = function (this: TableReader, key: unknown) {
    leaves.add(keyPathPattern(this.pathOf(key as string)));
    return original.get.call(this, key);
  };
  proto['section'] = function (this: TableReader, key: unknown) {
    sections.add(keyPathPattern(this.pathOf(key as string)));
    return original.section.call(this, key) ?? new TableReader(empty(), this.pathOf(key as string), this.sink);
  };
  proto['tables'] = function (this: TableReader, key: unknown) {
    sections.add(keyPathPattern(this.pathOf(key as string)));
    const got = original.tables.call(this, key) as TableReader[] | undefined;
    return got && got.length > 0 ? got : [new TableReader(empty(), `${this.pathOf(key as string)}[0]`, this.sink)];
  };
  proto['ignore'] = function (this: TableReader, key: unknown, why: unknown) {
    ignored.add(keyPathPattern(this.pathOf(key as string)));
    return original.ignore.call(this, key, why);
  };
  try {
    parseConfig('', { env: {} });
  } finally {
    Object.assign(proto, original);
  }
  for (const s of [...sections, ...ignored]) leaves.delete(s);
  return { leaves, sections, ignored };
}

/** The TypeScript sources of every package and plugin but config. */
function consumerSources(): string {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(readFileSync(p, 'utf8'));
    }
  };
  for (const group of ['packages', 'plugins']) {
    for (const pkg of readdirSync(join(ROOT, group))) {
      if (group === 'packages' && pkg === 'config') continue;
      const src = join(ROOT, group, pkg, 'src');
      try {
        if (statSync(src).isDirectory()) walk(src);
      } catch {
        // a package without src
      }
    }
  }
  return out.join('\n');
}

const camel = (s: string): string => s.replace(/[-_ ]+([A-Za-z0-9])/g, (_m, c: string) => c.toUpperCase()).replace(/^[A-Z]/, (c) => c.toLowerCase());

function candidates(path: string): string[] {
  if (FIELD_OF[path]) return [FIELD_OF[path]];
  const parts = path.split('.');
  const key = parts.at(-1)!;
  const parent = parts.at(-2);
  const bases = [camel(key), ...(parent ? [camel(`${parent}_${key}`)] : [])];
  return bases.flatMap((b) => ['', 'Ms', 'Kb', 'Seconds', 'S'].map((suffix) => b + suffix));
}

t.test('every key the schema reads is acted on outside config, or listed as not honoured (and warned about)', async (t) => {
  const { leaves, sections } = schemaKeys();
  t.ok(leaves.size > 80, `the walk found the schema's keys (${leaves.size})`);
  t.ok(leaves.has('runners.artifact.upload_timeout') && leaves.has('connection_max_age'), 'nested and global keys are seen');
  const src = consumerSources();
  const used = (path: string): boolean => candidates(path).some((f) => new RegExp(`\\.${f}\\b|\\b${f}\\s*[,}]|\\b${f}:`).test(src));
  const listed = (k: string): boolean => Object.keys(NOT_HONOURED_KEYS).some((n) => k === n || k.startsWith(`${n}.`));
  const silent = [...leaves].filter((k) => !used(k) && !listed(k)).sort();
  t.same(silent, [], 'keys parsed but neither used nor listed in NOT_HONOURED_KEYS');
  const stale = Object.keys(NOT_HONOURED_KEYS).filter((k) => !leaves.has(k) && !sections.has(k));
  t.same(stale, [], 'NOT_HONOURED_KEYS names only keys the schema reads');
  const usedButListed = Object.keys(NOT_HONOURED_KEYS).filter((k) => leaves.has(k) && !SAME_NAME_ELSEWHERE.has(k) && used(k));
  t.same(usedButListed, [], 'no key listed as not honoured is used outside config');
});

t.test('config validate warns about each not-honoured key where it is written', async (t) => {
  const text = `
[[runners]]
url = "https://gitlab.example.com"
token = "glrt-abc"
executor = "instance"
cache_dir = "/cache"
[runners.cache]
Type = "s3"
[runners.cache.s3]
BucketName = "b"
[runners.artifact]
upload_timeout = "2h"
response_header_timeout = "5m"
[runners.autoscaler]
plugin = "aws"
capacity_per_instance = 1
`;
  const r = parseConfig(text, { env: {} });
  t.same(r.errors, []);
  const notHonoured = r.warnings.filter((w) => w.message.startsWith('parsed but not honoured')).map((w) => `${w.line} ${w.path}`);
  t.same(notHonoured, ['6 runners[0].cache_dir', '7 runners[0].cache', '12 runners[0].artifact.upload_timeout', '13 runners[0].artifact.response_header_timeout']);
  t.same(parseConfig(text.replace(/^(cache_dir|upload_timeout|response_header_timeout|Type|BucketName) .*$|^\[runners\.cache.*$/gm, ''), { env: {} }).warnings.filter((w) => w.message.startsWith('parsed but not honoured')), [], 'nothing when they are not written');
});
