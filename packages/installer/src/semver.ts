import { installerError } from './errors.js';

/** A parsed semantic version (`1.2.3-rc.1+build`); tags with a leading `v` are not versions here. */
export interface SemVer {
  major: number;
  minor: number;
  patch: number;
  /** Dot-separated prerelease identifiers; empty for a release. */
  prerelease: readonly string[];
  /** The text it was parsed from. */
  raw: string;
}

/**
 * A version constraint: `latest` (highest release), `MAJOR` (highest `MAJOR.*.*`), `MAJOR.MINOR`
 * (highest `MAJOR.MINOR.*`) or an exact version. Prereleases only ever match an exact constraint.
 */
export type Constraint =
  | { kind: 'latest' }
  | { kind: 'major'; major: number }
  | { kind: 'minor'; major: number; minor: number }
  | { kind: 'exact'; version: SemVer };

const NUM = '(0|[1-9]\\d*)';
const IDENT = '(?:0|[1-9]\\d*|\\d*[A-Za-z-][0-9A-Za-z-]*)';
const SEMVER_RE = new RegExp(`^${NUM}\\.${NUM}\\.${NUM}(?:-(${IDENT}(?:\\.${IDENT})*))?(?:\\+[0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*)?$`);

/** Parses a strict semver string; undefined when `s` is not one. */
export function parseSemVer(s: string): SemVer | undefined {
  const m = SEMVER_RE.exec(s);
  if (!m) return undefined;
  const n = (x: string | undefined): number => Number(x);
  if (![m[1], m[2], m[3]].every((x) => Number.isSafeInteger(n(x)))) return undefined;
  return { major: n(m[1]), minor: n(m[2]), patch: n(m[3]), prerelease: m[4] ? m[4].split('.') : [], raw: s };
}

function compareIdent(a: string, b: string): number {
  const an = /^\d+$/.test(a);
  const bn = /^\d+$/.test(b);
  if (an && bn) return Math.sign(Number(a) - Number(b));
  if (an) return -1;
  if (bn) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Semver precedence: negative, zero or positive. Build metadata is ignored. */
export function compareSemVer(a: SemVer, b: SemVer): number {
  const d = a.major - b.major || a.minor - b.minor || a.patch - b.patch;
  if (d !== 0) return Math.sign(d);
  if (a.prerelease.length === 0 || b.prerelease.length === 0) return Math.sign(b.prerelease.length - a.prerelease.length);
  for (let i = 0; i < Math.max(a.prerelease.length, b.prerelease.length); i++) {
    const x = a.prerelease[i];
    const y = b.prerelease[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const c = compareIdent(x, y);
    if (c !== 0) return c;
  }
  return 0;
}

/** Parses a constraint; throws `bad_constraint` naming the text. */
export function parseConstraint(s: string): Constraint {
  if (s === 'latest') return { kind: 'latest' };
  if (/^(0|[1-9]\d*)$/.test(s)) return { kind: 'major', major: Number(s) };
  const mm = /^(0|[1-9]\d*)\.(0|[1-9]\d*)$/.exec(s);
  if (mm) return { kind: 'minor', major: Number(mm[1]), minor: Number(mm[2]) };
  const v = parseSemVer(s);
  if (v) return { kind: 'exact', version: v };
  throw installerError('bad_constraint', `invalid version constraint "${s}": want latest, MAJOR, MAJOR.MINOR or MAJOR.MINOR.PATCH`);
}

/** The constraint as written in a reference. */
export function formatConstraint(c: Constraint): string {
  switch (c.kind) {
    case 'latest':
      return 'latest';
    case 'major':
      return String(c.major);
    case 'minor':
      return `${c.major}.${c.minor}`;
    case 'exact':
      return c.version.raw;
  }
}

/** True when `v` satisfies `c`. */
export function satisfies(v: SemVer, c: Constraint): boolean {
  if (c.kind === 'exact') return compareSemVer(v, c.version) === 0;
  if (v.prerelease.length > 0) return false;
  if (c.kind === 'latest') return true;
  if (c.kind === 'major') return v.major === c.major;
  return v.major === c.major && v.minor === c.minor;
}

/** The highest of `candidates` (strings that are not semver are skipped) matching `c`, or undefined. */
export function highestMatch(candidates: Iterable<string>, c: Constraint): SemVer | undefined {
  let best: SemVer | undefined;
  for (const s of candidates) {
    const v = parseSemVer(s);
    if (!v || !satisfies(v, c)) continue;
    if (!best || compareSemVer(v, best) > 0) best = v;
  }
  return best;
}
