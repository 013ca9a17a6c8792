import type { Cursor } from './toml-cursor.js';
import type { TomlNode } from './toml-nodes.js';

const INT_MIN = -(2n ** 63n);
const INT_MAX = 2n ** 63n - 1n;

const DEC_INT = /^[+-]?(?:0|[1-9](?:_?\d)*)$/;
const HEX_INT = /^0x[0-9A-Fa-f](?:_?[0-9A-Fa-f])*$/;
const OCT_INT = /^0o[0-7](?:_?[0-7])*$/;
const BIN_INT = /^0b[01](?:_?[01])*$/;
const FLOAT = /^[+-]?(?:0|[1-9](?:_?\d)*)(?:\.\d(?:_?\d)*)?(?:[eE][+-]?\d(?:_?\d)*)?$/;
const SPECIAL_FLOAT = /^[+-]?(?:inf|nan)$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME = /^(\d{2}):(\d{2}):(\d{2})(\.\d+)?$/;
const DATETIME = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?$/;

/** Reads a number, boolean or date/time at the cursor. `line`/`column` are where the value starts. */
export function readScalar(c: Cursor): TomlNode {
  const start = c.pos;
  const { line, column } = c.loc();
  const token = scanToken(c);
  if (token === '') c.fail(`expected a value, found ${c.here()}`);
  const pos = { line, column };
  if (token === 'true' || token === 'false') return { type: 'boolean', value: token === 'true', ...pos };
  if (SPECIAL_FLOAT.test(token)) {
    const v = token.endsWith('nan') ? NaN : token.startsWith('-') ? -Infinity : Infinity;
    return { type: 'float', value: v, ...pos };
  }
  if (DEC_INT.test(token) || HEX_INT.test(token) || OCT_INT.test(token) || BIN_INT.test(token)) {
    return { type: 'integer', value: toBigInt(c, token, start), ...pos };
  }
  if (FLOAT.test(token) && /[.eE]/.test(token)) {
    return { type: 'float', value: Number(token.replaceAll('_', '')), ...pos };
  }
  const dt = readDateTime(c, token, start);
  if (dt) return { ...dt, ...pos };
  return c.fail(`invalid value ${JSON.stringify(token)}`, start);
}

/** The run of characters that can make up a bare value; a date followed by ` HH:` keeps the space. */
function scanToken(c: Cursor): string {
  const start = c.pos;
  while (/[0-9A-Za-z+\-_.:]/.test(c.peek())) c.pos++;
  const head = c.src.slice(start, c.pos);
  if (DATE.test(head) && c.peek() === ' ' && /^\d{2}:/.test(c.src.slice(c.pos + 1, c.pos + 4))) {
    c.pos++;
    while (/[0-9A-Za-z+\-_.:]/.test(c.peek())) c.pos++;
  }
  return c.src.slice(start, c.pos);
}

function toBigInt(c: Cursor, token: string, at: number): bigint {
  const clean = token.replaceAll('_', '');
  const neg = clean.startsWith('-');
  const body = clean.replace(/^[+-]/, '');
  const v = neg ? -BigInt(body) : BigInt(body);
  if (v < INT_MIN || v > INT_MAX) c.fail(`integer ${token} does not fit in 64 bits`, at);
  return v;
}

type DateTimePart = Omit<Extract<TomlNode, { type: 'datetime' }>, 'line' | 'column'>;

function readDateTime(c: Cursor, token: string, at: number): DateTimePart | undefined {
  let m = DATETIME.exec(token);
  if (m) {
    const [, y, mo, d, h, mi, s, frac, off] = m;
    checkDate(c, at, y, mo, d);
    checkTime(c, at, h, mi, s);
    const text = `${y}-${mo}-${d}T${h}:${mi}:${s}${frac ?? ''}${off === undefined ? '' : off.toUpperCase()}`;
    if (off === undefined) return { type: 'datetime', kind: 'local-datetime', text };
    if (off !== 'Z' && off !== 'z') checkOffset(c, at, off);
    const epochMs = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s === '60' ? '59' : s}${msFraction(frac)}${off.toUpperCase()}`);
    return { type: 'datetime', kind: 'offset-datetime', text, epochMs };
  }
  m = DATE.exec(token);
  if (m) {
    checkDate(c, at, m[1], m[2], m[3]);
    return { type: 'datetime', kind: 'local-date', text: token };
  }
  m = TIME.exec(token);
  if (m) {
    checkTime(c, at, m[1], m[2], m[3]);
    return { type: 'datetime', kind: 'local-time', text: token };
  }
  return undefined;
}

/** Date.parse takes at most millisecond precision; TOML allows more and truncation is the documented choice. */
function msFraction(frac: string | undefined): string {
  return frac === undefined ? '' : frac.slice(0, 4);
}

function checkDate(c: Cursor, at: number, y = '', mo = '', d = ''): void {
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12) c.fail(`month ${mo} out of range`, at);
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 31;
  if (day < 1 || day > days) c.fail(`day ${d} out of range for ${y}-${mo}`, at);
}

function checkTime(c: Cursor, at: number, h = '', mi = '', s = ''): void {
  if (Number(h) > 23) c.fail(`hour ${h} out of range`, at);
  if (Number(mi) > 59) c.fail(`minute ${mi} out of range`, at);
  // RFC 3339 allows a leap second.
  if (Number(s) > 60) c.fail(`second ${s} out of range`, at);
}

function checkOffset(c: Cursor, at: number, off: string): void {
  if (Number(off.slice(1, 3)) > 23 || Number(off.slice(4, 6)) > 59) c.fail(`time offset ${off} out of range`, at);
}
