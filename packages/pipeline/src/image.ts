// `image:` → the payload-shaped JobImage.
import type { Diagnostics } from './diagnostics.js';
import { get, keyPos, readMap, readString, readStringList, sub } from './node-read.js';
import type { JobImage } from './types.js';
import type { LNode } from './yaml-tree.js';

function image(name: string): JobImage {
  return { name, alias: '', command: [], entrypoint: [], ports: [], variables: [], pullPolicy: [], executorOptions: {} };
}

/** Reads `{ platform, user }` / `{ user }` executor options, keeping only string values. */
function readOptions(n: LNode, path: string, d: Diagnostics, keys: readonly string[]): Record<string, string> {
  const m = readMap(n, path, d);
  const out: Record<string, string> = {};
  for (const [k, v] of m?.entries ?? []) {
    if (!keys.includes(k)) d.warn(keyPos(m!, k), sub(path, k), 'unknown image option; ignored');
    else {
      const s = readString(v, sub(path, k), d);
      if (s !== undefined) out[k] = s;
    }
  }
  return out;
}

/** Reads `image:` (a string or `{ name, entrypoint, pull_policy, docker, kubernetes }`). */
export function readImage(n: LNode, path: string, d: Diagnostics): JobImage | undefined {
  if (n.kind !== 'map') {
    const name = readString(n, path, d);
    return name === undefined ? undefined : image(name);
  }
  const nameNode = get(n, 'name');
  const name = nameNode === undefined ? undefined : readString(nameNode, sub(path, 'name'), d);
  if (name === undefined) {
    if (nameNode === undefined) d.error(n, path, 'image needs a name');
    return undefined;
  }
  const img = image(name);
  for (const [k, v] of n.entries) {
    const p = sub(path, k);
    if (k === 'entrypoint') img.entrypoint = readStringList(v, p, d, { single: true }) ?? [];
    else if (k === 'pull_policy') img.pullPolicy = readStringList(v, p, d, { single: true }) ?? [];
    else if (k === 'docker') img.executorOptions.docker = readOptions(v, p, d, ['platform', 'user']);
    else if (k === 'kubernetes') img.executorOptions.kubernetes = readOptions(v, p, d, ['user']);
    else if (k !== 'name') d.warn(keyPos(n, k), p, 'unknown image key; ignored');
  }
  return img;
}
