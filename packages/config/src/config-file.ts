import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic } from '@fleetrunner/common';
import type { AST } from 'toml-eslint-parser';
import { parseTomlDocument } from './toml-parser.js';

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

/** One `[[runners]]` entry of a config file's text, found on its syntax tree. */
export interface RunnerBlock {
  /** Its position among the entries (0-based, file order: the index of `runners[i]`). */
  index: number;
  /** 1-based line of its `[[runners]]` header. */
  line: number;
  /**
   * Character offsets `[start, end)` into the text, in file order: the entry's `[[runners]]` table, then each of its
   * sub-tables (`[runners.autoscaler]`, `[[runners.autoscaler.policy]]`, …) that does not directly follow it (TOML
   * lets a sub-table come after other tables). A table's range runs from the start of its header line, taking the
   * comment lines directly above it, to where the next top-level table's range starts (or the end of the text).
   */
  ranges: { start: number; end: number }[];
}

/**
 * Every `[[runners]]` entry of `text` with its ranges, from the syntax tree: keys and strings that only look like
 * headers are never taken for one. Throws `TomlSyntaxError` when the text is not TOML. Entries written as an inline
 * array (`runners = [{ … }]`) have no ranges and are not listed.
 */
export function runnerBlocks(text: string): RunnerBlock[] {
  const doc = parseTomlDocument(text);
  const shift = text.length - doc.text.length; // a byte-order mark the tree's offsets do not count
  const tables = doc.ast.body[0].body.filter((n): n is AST.TOMLTable => n.type === 'TOMLTable');
  const leads = tables.map((t) => shift + leadStart(doc.text, t, doc.ast.comments));
  const blocks = new Map<number, RunnerBlock>();
  tables.forEach((t, i) => {
    const [root, index] = t.resolvedKey;
    if (root !== 'runners' || typeof index !== 'number') return;
    const start = leads[i] as number;
    const end = leads[i + 1] ?? text.length;
    let block = blocks.get(index);
    if (block === undefined) {
      block = { index, line: t.loc.start.line, ranges: [] };
      blocks.set(index, block);
    }
    const last = block.ranges[block.ranges.length - 1];
    if (last !== undefined && last.end === start) last.end = end;
    else block.ranges.push({ start, end });
  });
  return [...blocks.values()].sort((a, b) => a.index - b.index);
}

/**
 * Where a top-level table's text starts: the start of its header's line, moved up over the lines directly above it
 * that hold only a comment (a comment belongs to the table it heads; a blank line ends the run).
 */
function leadStart(text: string, table: AST.TOMLTable, comments: readonly AST.Comment[]): number {
  let start = lineStart(text, table.range[0]);
  // Comments are in file order; walk back over those that end on the line just above `start`.
  let i = comments.findIndex((c) => c.range[0] >= start) - 1;
  if (i < -1) i = comments.length - 1;
  for (; i >= 0; i--) {
    const c = comments[i] as AST.Comment;
    const above = lineStart(text, start - 1);
    if (start === 0 || c.range[0] < above) break;
    if (!blankBetween(text, above, c.range[0]) || !blankBetween(text, c.range[1], start)) break;
    start = above;
  }
  return start;
}

/** Offset of the start of the line that holds `offset`. */
function lineStart(text: string, offset: number): number {
  return offset <= 0 ? 0 : text.lastIndexOf('\n', offset - 1) + 1;
}

/** Whether `text[from, to)` is only spaces, tabs and line-break characters. */
function blankBetween(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (!' \t\r\n'.includes(text[i] as string)) return false;
  return true;
}

/**
 * `text` without the `[[runners]]` entries at the given positions (0-based, in file order): each one's ranges
 * (see `RunnerBlock`) are cut out, and every other byte of the text stays as it was.
 */
export function removeRunnerBlocks(text: string, indices: ReadonlySet<number>): string {
  const cut = runnerBlocks(text)
    .filter((b) => indices.has(b.index))
    .flatMap((b) => b.ranges)
    .sort((a, b) => a.start - b.start);
  let out = '';
  let at = 0;
  for (const r of cut) {
    out += text.slice(at, r.start);
    at = r.end;
  }
  return out + text.slice(at);
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
