// Narrowing helpers for untrusted JSON: each read names the dotted wire path of the field it failed on. Absent and
// null fields take Go's zero values (GitLab Runner decodes the payload with encoding/json); a present field of
// the wrong type is an error.

/** A JSON object. */
export type JsonObject = Record<string, unknown>;

/** Thrown by the readers; `field` is the dotted wire path. */
export class FieldError extends Error {
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${field}: ${problem}`);
    this.name = 'FieldError';
  }
}

/** `parent.key`, or `key` at the root. */
export function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`;
}

/** True for a plain JSON object. */
export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The object at `path`, or undefined when absent/null. */
export function optObject(v: unknown, path: string): JsonObject | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw new FieldError(path, `expected an object, got ${describe(v)}`);
  return v;
}

/** The object at `path`; absent/null reads as `{}`. */
export function object(v: unknown, path: string): JsonObject {
  return optObject(v, path) ?? {};
}

/** A string field; absent → `''`. */
export function str(o: JsonObject, key: string, path: string): string {
  const v = o[key];
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new FieldError(join(path, key), `expected a string, got ${describe(v)}`);
  return noNul(v, join(path, key));
}

/** Job strings end up in shell scripts and environments, neither of which can carry NUL: refused at the boundary. */
function noNul(v: string, path: string): string {
  if (v.includes('\0')) throw new FieldError(path, 'contains a NUL byte (a shell cannot carry it)');
  return v;
}

/** A string field that must be present and non-empty. */
export function requiredStr(o: JsonObject, key: string, path: string): string {
  const s = str(o, key, path);
  if (s === '') throw new FieldError(join(path, key), 'required');
  return s;
}

/** A boolean field; absent → `false`. */
export function bool(o: JsonObject, key: string, path: string): boolean {
  const v = o[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw new FieldError(join(path, key), `expected a boolean, got ${describe(v)}`);
  return v;
}

/** A boolean field that stays undefined when absent. */
export function optBool(o: JsonObject, key: string, path: string): boolean | undefined {
  return o[key] === undefined || o[key] === null ? undefined : bool(o, key, path);
}

/** A finite number; absent → 0. */
export function num(o: JsonObject, key: string, path: string): number {
  const v = o[key];
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new FieldError(join(path, key), `expected a number, got ${describe(v)}`);
  return v;
}

/** An integer (safe range); absent → 0. */
export function int(o: JsonObject, key: string, path: string): number {
  const v = num(o, key, path);
  if (!Number.isSafeInteger(v)) throw new FieldError(join(path, key), `expected an integer, got ${v}`);
  return v;
}

/** An integer that stays undefined when absent. */
export function optInt(o: JsonObject, key: string, path: string): number | undefined {
  return o[key] === undefined || o[key] === null ? undefined : int(o, key, path);
}

/** An array field mapped element by element; absent → `[]`. */
export function arr<T>(o: JsonObject, key: string, path: string, each: (v: unknown, path: string) => T): T[] {
  const v = o[key];
  const p = join(path, key);
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new FieldError(p, `expected an array, got ${describe(v)}`);
  return v.map((item, i) => each(item, `${p}[${i}]`));
}

/** An array of strings; absent → `[]`. */
export function strArr(o: JsonObject, key: string, path: string): string[] {
  return arr(o, key, path, (v, p) => {
    if (typeof v !== 'string') throw new FieldError(p, `expected a string, got ${describe(v)}`);
    return noNul(v, p);
  });
}

/** A string limited to `allowed`; absent or empty → `fallback`. */
export function oneOf<T extends string>(o: JsonObject, key: string, path: string, allowed: readonly T[], fallback: T): T {
  const s = str(o, key, path);
  if (s === '') return fallback;
  if (!(allowed as readonly string[]).includes(s)) {
    throw new FieldError(join(path, key), `unsupported value ${JSON.stringify(s)} (expected one of ${allowed.join(', ')})`);
  }
  return s as T;
}

/** Throws naming the first key of `o` that is not in `known`. */
export function onlyKeys(o: JsonObject, known: readonly string[], path: string): void {
  for (const k of Object.keys(o)) {
    if (!known.includes(k)) throw new FieldError(join(path, k), `unsupported option (supported: ${known.join(', ') || 'none'})`);
  }
}
