import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { throwIfAborted } from '@fleetrunner/common';
import { applyDefaults } from './defaults.js';
import { DiagnosticSink, type Diagnostic } from './diagnostics.js';
import type { Env } from './env-expand.js';
import { checkRules } from './rules.js';
import { readGlobal } from './schema-global.js';
import { TableReader } from './table-reader.js';
import { parseToml, TomlSyntaxError } from './toml-parser.js';
import type { RunnerConfig } from './types.js';

/** What loading a config yields. The config is usable only when `errors` is empty. */
export interface LoadResult {
  /** The file as named to the loader. */
  file: string;
  /**
   * The typed, defaulted config. Present whenever the file was read and parsed as TOML, even with schema or
   * rule errors (best effort, for tools that show it); undefined after an I/O, encoding or syntax error.
   */
  config: RunnerConfig | undefined;
  /** Sorted by line. Any error means "do not run with this". */
  errors: Diagnostic[];
  /** Sorted by line. Unknown keys, ignored keys, suspicious values. */
  warnings: Diagnostic[];
}

export interface ParseOptions {
  /** Name used in diagnostics. Default `config.toml`. */
  file?: string;
  /** Directory relative paths (state storage) are resolved against. Default: the directory of `file`. */
  dir?: string;
  /** Variables for `$VAR` expansion in `url` and `token` (pass `process.env` in the CLI). */
  env: Env;
}

/**
 * The config pipeline on text: TOML → schema → defaults → cross-field rules. Pure apart from reading the
 * time-zone database through Intl; never throws for bad input.
 */
export function parseConfig(text: string, options: ParseOptions): LoadResult {
  const file = options.file ?? 'config.toml';
  const sink = new DiagnosticSink(file);
  let root;
  try {
    root = parseToml(text);
  } catch (err) {
    if (!(err instanceof TomlSyntaxError)) throw err;
    const d: Diagnostic = { severity: 'error', file, line: err.line, column: err.column, path: '', message: `TOML syntax error: ${err.reason}` };
    return { file, config: undefined, errors: [d], warnings: [] };
  }
  const parsed = readGlobal(new TableReader(root, '', sink), options.env);
  const config = applyDefaults(parsed, { file, dir: resolve(options.dir ?? dirname(resolve(file))) }, options.env);
  checkRules(config, parsed, sink);
  return { file, config, ...sink.sorted() };
}

/**
 * Reads and checks a `config.toml`. Unreadable files and invalid UTF-8 become whole-file errors (line 0);
 * only an abort through `signal` throws.
 */
export async function loadConfig(file: string, options: { env: Env; signal?: AbortSignal }): Promise<LoadResult> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file, { signal: options.signal });
  } catch (err) {
    throwIfAborted(options.signal);
    const reason = err instanceof Error && 'code' in err && err.code === 'ENOENT' ? 'no such file' : err instanceof Error ? err.message : String(err);
    return wholeFileError(file, `reading config file: ${reason}`);
  }
  const bad = firstInvalidUtf8(bytes);
  if (bad >= 0) {
    const line = bytes.subarray(0, bad).reduce((n, b) => (b === 0x0a ? n + 1 : n), 1);
    return { file, config: undefined, errors: [{ severity: 'error', file, line, path: '', message: 'the file is not valid UTF-8' }], warnings: [] };
  }
  return parseConfig(new TextDecoder('utf-8').decode(bytes), { file, env: options.env });
}

function wholeFileError(file: string, message: string): LoadResult {
  return { file, config: undefined, errors: [{ severity: 'error', file, line: 0, path: '', message }], warnings: [] };
}

/** Byte offset of the first malformed UTF-8 sequence (overlong forms and surrogates included), or -1. */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i] as number;
    let n: number;
    let min: number;
    if (c < 0x80) {
      i++;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) [n, min] = [1, 0x80];
    else if (c >= 0xe0 && c <= 0xef) [n, min] = [2, 0x800];
    else if (c >= 0xf0 && c <= 0xf4) [n, min] = [3, 0x10000];
    else return i;
    let cp = c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const x = b[i + k];
      if (x === undefined || (x & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (x & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return -1;
}
