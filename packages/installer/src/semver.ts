// The four modules this file uses, not the package's index (which loads all of its ~50 files at start-up).
import SemVer from 'semver/classes/semver.js';
import compare from 'semver/functions/compare.js';
import eq from 'semver/functions/eq.js';
import semverSatisfies from 'semver/functions/satisfies.js';
import { installerError } from './errors.js';

export type { SemVer };

/**
 * A version constraint of a plugin reference: `latest` (highest release), `MAJOR` (highest `MAJOR.*.*`),
 * `MAJOR.MINOR` (highest `MAJOR.MINOR.*`) or an exact version. Prereleases only ever match an exact constraint.
 * This grammar is fleeting's, not npm's: `~1`, `^1`, `1.x`, `>=1` are errors, so it is parsed here and only the
 * matching is the `semver` package's.
 */
export type Constraint =
  | { kind: 'latest' }
  | { kind: 'major'; major: number }
  | { kind: 'minor'; major: number; minor: number }
  | { kind: 'exact'; version: SemVer };

/**
 * Parses a strict semver string (`1.2.3-rc.1+build`); undefined when `s` is not one. The `semver` package also
 * takes `v1.2.3`, `=1.2.3` and surrounding blanks; tags like those are not versions here.
 */
export function parseSemVer(s: string): SemVer | undefined {
  if (!/^\d/.test(s) || s.trim() !== s) return undefined;
  try {
    return new SemVer(s);
  } catch {
    return undefined;
  }
}

/** Semver precedence: negative, zero or positive. Build metadata is ignored. */
export function compareSemVer(a: SemVer, b: SemVer): number {
  return compare(a, b);
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

/** True when `v` satisfies `c`. An npm range without prerelease comparators never matches a prerelease. */
export function satisfies(v: SemVer, c: Constraint): boolean {
  if (c.kind === 'exact') return eq(v, c.version);
  const range = c.kind === 'latest' ? '*' : c.kind === 'major' ? `${c.major}.x` : `${c.major}.${c.minor}.x`;
  return semverSatisfies(v, range);
}

/** The highest of `candidates` (strings that are not semver are skipped) matching `c`, or undefined. */
export function highestMatch(candidates: Iterable<string>, c: Constraint): SemVer | undefined {
  let best: SemVer | undefined;
  for (const s of candidates) {
    const v = parseSemVer(s);
    if (!v || !satisfies(v, c)) continue;
    if (!best || compare(v, best) > 0) best = v;
  }
  return best;
}
