// `artifacts:` and `cache:` of a job or of `default:`.
import type { Diagnostics } from './diagnostics.js';
import { parseDuration } from './duration.js';
import { keyPos, readBool, readEnum, readMap, readString, readStringList, sub, warnUnknownKeys } from './node-read.js';
import type { ArtifactSpec, UploadWhen } from './types.js';
import type { LNode } from './yaml-tree.js';

const WHENS: readonly UploadWhen[] = ['on_success', 'on_failure', 'always'];
const ARTIFACT_KEYS = new Set(['paths', 'exclude', 'untracked', 'when', 'name', 'expire_in', 'expose_as', 'public', 'access', 'reports']);
const CACHE_KEYS = new Set(['key', 'paths', 'untracked', 'policy', 'when', 'fallback_keys', 'unprotect']);
/** GitLab allows four caches per job and five fallback keys per cache. */
const MAX_CACHES = 4;
const MAX_FALLBACK_KEYS = 5;

/** Reads `artifacts:`; undefined when nothing is to be uploaded (no paths and not untracked). */
export function readArtifacts(n: LNode, path: string, d: Diagnostics): ArtifactSpec | undefined {
  const m = readMap(n, path, d);
  if (m === undefined) return undefined;
  warnUnknownKeys(m, path, ARTIFACT_KEYS, d, 'artifacts');
  const spec: ArtifactSpec = { name: 'artifacts', untracked: false, paths: [], exclude: [], when: 'on_success', type: 'archive', format: 'zip', expireIn: '' };
  for (const [k, v] of m.entries) {
    const p = sub(path, k);
    if (k === 'paths') spec.paths = readStringList(v, p, d) ?? [];
    else if (k === 'exclude') spec.exclude = readStringList(v, p, d) ?? [];
    else if (k === 'untracked') spec.untracked = readBool(v, p, d) ?? false;
    else if (k === 'when') spec.when = readEnum(v, p, d, WHENS) ?? 'on_success';
    else if (k === 'name') spec.name = readString(v, p, d) ?? 'artifacts';
    else if (k === 'expire_in') {
      const text = readString(v, p, d);
      if (text !== undefined && text.trim().toLowerCase() !== 'never' && parseDuration(text) === undefined) {
        d.error(v, p, `invalid duration ${JSON.stringify(text)} (examples: '1 week', '3 mins 4 sec', never)`);
      } else if (text !== undefined) spec.expireIn = text;
    } else if (k === 'reports') d.warn(keyPos(m, k), p, 'artifacts reports are not collected by a local run; ignored');
  }
  return spec.paths.length > 0 || spec.untracked ? spec : undefined;
}

/** A cache key before resolution: a string, or a digest of files. */
export type CacheKeyRaw = { kind: 'string'; value: string } | { kind: 'files'; files: string[]; prefix: string; commits: boolean };

/** A cache as written; the key is resolved when the pipeline is planned. */
export interface CacheRaw {
  key: CacheKeyRaw;
  paths: string[];
  untracked: boolean;
  policy: 'pull' | 'push' | 'pull-push';
  when: UploadWhen;
  fallbackKeys: string[];
}

/** GitLab forbids `/` (or `%2F`) in a key, and keys made only of dots (or `%2E`). */
function checkKey(n: LNode, key: string, path: string, d: Diagnostics): void {
  if (/\/|%2f/i.test(key)) d.error(n, path, 'cache key cannot contain "/" or "%2F"');
  else if (/^(\.|%2e)+$/i.test(key)) d.error(n, path, 'cache key cannot be "." or ".." (or %2E)');
}

function readKey(n: LNode, path: string, d: Diagnostics): CacheKeyRaw {
  if (n.kind !== 'map') {
    const value = readString(n, path, d) ?? 'default';
    checkKey(n, value, path, d);
    return { kind: 'string', value };
  }
  warnUnknownKeys(n, path, new Set(['files', 'prefix', 'files_commits']), d, 'cache key');
  const filesNode = n.entries.get('files') ?? n.entries.get('files_commits');
  const files = filesNode === undefined ? undefined : readStringList(filesNode, sub(path, n.entries.has('files') ? 'files' : 'files_commits'), d);
  if (files === undefined) {
    if (filesNode === undefined) d.error(n, path, 'key: needs files: (a list of one or two paths)');
    return { kind: 'string', value: 'default' };
  }
  if (files.length === 0 || files.length > 2) d.error(filesNode!, sub(path, 'files'), 'expected one or two file paths');
  const prefixNode = n.entries.get('prefix');
  const prefix = prefixNode === undefined ? '' : (readString(prefixNode, sub(path, 'prefix'), d) ?? '');
  if (prefixNode !== undefined) checkKey(prefixNode, prefix, sub(path, 'prefix'), d);
  return { kind: 'files', files, prefix, commits: !n.entries.has('files') };
}

function readOneCache(n: LNode, path: string, d: Diagnostics): CacheRaw | undefined {
  const m = readMap(n, path, d);
  if (m === undefined) return undefined;
  warnUnknownKeys(m, path, CACHE_KEYS, d, 'cache');
  const c: CacheRaw = { key: { kind: 'string', value: 'default' }, paths: [], untracked: false, policy: 'pull-push', when: 'on_success', fallbackKeys: [] };
  for (const [k, v] of m.entries) {
    const p = sub(path, k);
    if (k === 'key') c.key = readKey(v, p, d);
    else if (k === 'paths') c.paths = readStringList(v, p, d) ?? [];
    else if (k === 'untracked') c.untracked = readBool(v, p, d) ?? false;
    else if (k === 'policy') c.policy = readEnum(v, p, d, ['pull', 'push', 'pull-push'] as const) ?? 'pull-push';
    else if (k === 'when') c.when = readEnum(v, p, d, WHENS) ?? 'on_success';
    else if (k === 'unprotect') readBool(v, p, d);
    else if (k === 'fallback_keys') {
      c.fallbackKeys = readStringList(v, p, d) ?? [];
      if (c.fallbackKeys.length > MAX_FALLBACK_KEYS) d.error(v, p, `at most ${MAX_FALLBACK_KEYS} fallback keys are allowed`);
    }
  }
  return c;
}

/** Reads `cache:` (one mapping or a list of up to four). */
export function readCaches(n: LNode, path: string, d: Diagnostics): CacheRaw[] {
  if (n.kind !== 'seq') {
    const one = readOneCache(n, path, d);
    return one === undefined ? [] : [one];
  }
  if (n.items.length > MAX_CACHES) d.error(n, path, `at most ${MAX_CACHES} caches are allowed`);
  return n.items.flatMap((item, i) => readOneCache(item, sub(path, i), d) ?? []);
}
