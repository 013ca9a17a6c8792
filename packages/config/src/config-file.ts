import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic } from '@fleetrunner/common';

/** A TOML basic string. */
export function tomlString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (c < 0x20 || c === 0x7f) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return out + '"';
}

/** A TOML value: strings quoted, numbers and booleans as they are, Dates as RFC 3339 date-times. */
export type TomlValue = string | number | boolean | Date | readonly string[];

function value(v: TomlValue): string {
  if (typeof v === 'string') return tomlString(v);
  if (v instanceof Date) return v.toISOString().replace(/\.\d{3}Z$/, 'Z');
  if (Array.isArray(v)) return `[${v.map((x: string) => tomlString(x)).join(', ')}]`;
  return String(v);
}

/**
 * The text of one `[[runners]]` entry as `gitlab-runner register` writes it: its own keys, then each sub-table
 * (`autoscaler`, `autoscaler.plugin_config`, …) under `[runners.<name>]`, indented. Undefined values are left out.
 */
export function runnerBlock(keys: Record<string, TomlValue | undefined>, tables: Record<string, Record<string, TomlValue | undefined>> = {}): string {
  const lines = ['[[runners]]'];
  const put = (indent: string, kv: Record<string, TomlValue | undefined>): void => {
    for (const [k, v] of Object.entries(kv)) if (v !== undefined) lines.push(`${indent}${/^[A-Za-z0-9_-]+$/.test(k) ? k : tomlString(k)} = ${value(v)}`);
  };
  put('  ', keys);
  for (const [name, kv] of Object.entries(tables)) {
    lines.push(`  [runners.${name}]`);
    put('    ', kv);
  }
  return lines.join('\n') + '\n';
}

/** Line ranges `[start, end)` of each `[[runners]]` entry (its header up to the next table that is not its own). */
export function runnerBlocks(text: string): { start: number; end: number }[] {
  const lines = text.split('\n');
  const blocks: { start: number; end: number }[] = [];
  let open: { start: number } | undefined;
  let inMultiline: '"""' | "'''" | undefined;
  lines.forEach((line, i) => {
    if (inMultiline) {
      if (line.split(inMultiline).length % 2 === 0) inMultiline = undefined;
      return;
    }
    for (const q of ['"""', "'''"] as const) {
      if (line.split(q).length % 2 === 0) {
        inMultiline = q;
        return;
      }
    }
    const header = /^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$/.exec(line);
    if (!header) return;
    const name = header[1]!.replace(/\s+/g, '');
    const isEntry = /^\s*\[\[/.test(line) && name === 'runners';
    const isOwn = name.startsWith('runners.');
    if (isEntry) {
      if (open) blocks.push({ start: open.start, end: i });
      open = { start: i };
    } else if (!isOwn && open) {
      blocks.push({ start: open.start, end: i });
      open = undefined;
    }
  });
  if (open) blocks.push({ start: open.start, end: lines.length });
  return blocks;
}

/** `text` without the `[[runners]]` entries at the given positions (0-based, in file order). */
export function removeRunnerBlocks(text: string, indices: ReadonlySet<number>): string {
  const lines = text.split('\n');
  const drop = new Set<number>();
  runnerBlocks(text).forEach((b, i) => {
    if (!indices.has(i)) return;
    for (let l = b.start; l < b.end; l++) drop.add(l);
  });
  return lines.filter((_, i) => !drop.has(i)).join('\n');
}

/** The header written to a new config file (GitLab Runner's defaults). */
export const NEW_CONFIG_HEADER = 'concurrent = 1\ncheck_interval = 0\nshutdown_timeout = 0\n';

/** Reads the config file's text; '' when it does not exist. */
export async function readConfigText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'ENOENT') return '';
    throw err;
  }
}

/** Replaces the config file atomically (temporary file + rename), mode 0600, creating its directory (0700). */
export async function writeConfigText(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, text, { mode: 0o600 });
}
