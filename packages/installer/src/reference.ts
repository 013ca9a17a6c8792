import { installerError } from './errors.js';
import { formatConstraint, parseConstraint, type Constraint } from './semver.js';

/** Registry used when a reference names none. */
export const DEFAULT_REGISTRY = 'registry.gitlab.com';
/** Repository path used when a reference is a bare name. */
export const DEFAULT_REPOSITORY = 'gitlab-org/fleeting/plugins';

/**
 * A plugin reference from `[runners.autoscaler] plugin`: `name[:c]`, `repo/name[:c]`, `registry/repo/name[:c]`.
 * `bare` marks a single-segment name written without a constraint: such a name is also looked up on `PATH` (a
 * manually installed `fleeting-plugin-x`) when no installed version matches.
 */
export interface PluginReference {
  registry: string;
  /** Repository path without the plugin name (`gitlab-org/fleeting/plugins`); may be empty for `registry/name`. */
  repository: string;
  name: string;
  constraint: Constraint;
  bare: boolean;
  /** The text as written. */
  raw: string;
}

const HOST_RE = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::\d{1,5})?$/;
const COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

function looksLikeRegistry(segment: string): boolean {
  return segment === 'localhost' || segment.includes('.') || segment.includes(':') || segment.startsWith('[');
}

/**
 * Parses a reference. The first of three or more segments is the registry when it looks like a host (has a dot,
 * a port or is `localhost`), as Docker decides; otherwise it belongs to the repository path.
 */
export function parseReference(raw: string): PluginReference {
  const text = raw.trim();
  const bad = (why: string): never => {
    throw installerError('bad_reference', `invalid plugin reference "${raw}": ${why}`);
  };
  if (text === '') bad('empty');
  if (text.includes('@')) bad('digests are not accepted, use a version constraint');
  const slash = text.lastIndexOf('/');
  const colon = text.lastIndexOf(':');
  let path = text;
  let constraintText: string | undefined;
  if (colon > slash) {
    path = text.slice(0, colon);
    constraintText = text.slice(colon + 1);
    if (constraintText === '') bad('empty constraint after ":"');
  }
  const segments = path.split('/');
  if (segments.some((s) => s === '')) bad('empty path segment');
  let registry = DEFAULT_REGISTRY;
  let repoSegments: string[];
  if (segments.length === 1) repoSegments = DEFAULT_REPOSITORY.split('/');
  else if (looksLikeRegistry(segments[0] ?? '')) {
    registry = segments[0] ?? '';
    repoSegments = segments.slice(1, -1);
  } else repoSegments = segments.slice(0, -1);
  const name = segments[segments.length - 1] ?? '';
  if (!HOST_RE.test(registry)) bad(`registry "${registry}" is not a host name`);
  for (const s of [...repoSegments, name]) if (!COMPONENT_RE.test(s)) bad(`"${s}" is not a valid repository path component`);
  let constraint: Constraint;
  try {
    constraint = parseConstraint(constraintText ?? 'latest');
  } catch (err) {
    throw installerError('bad_constraint', `invalid plugin reference "${raw}": ${(err as Error).message}`, { cause: err });
  }
  return { registry, repository: repoSegments.join('/'), name, constraint, bare: segments.length === 1 && constraintText === undefined, raw };
}

/** `repository/name`: the repository path on the registry (what the distribution API calls the name). */
export function repositoryPath(ref: Pick<PluginReference, 'repository' | 'name'>): string {
  return ref.repository === '' ? ref.name : `${ref.repository}/${ref.name}`;
}

/** The canonical text `registry/repository/name:constraint`. */
export function formatReference(ref: PluginReference): string {
  return `${ref.registry}/${repositoryPath(ref)}:${formatConstraint(ref.constraint)}`;
}

/** An image reference for publishing: `registry/repository/name:tag` (a tag is required, no defaults but registry). */
export interface ImageTarget {
  registry: string;
  repository: string;
  tag: string;
}

/**
 * Parses `registry/path/name:version` for publishing: the tag must be a full semver without `v` (what install
 * constraints match), the registry defaults to `registry.gitlab.com` when the first segment is no host.
 */
export function parseImageTarget(raw: string): ImageTarget {
  const ref = parseReference(raw);
  if (ref.constraint.kind !== 'exact' || !raw.includes(':' + ref.constraint.version.raw)) {
    throw installerError('bad_reference', `invalid image reference "${raw}": want [registry/]repository/name:MAJOR.MINOR.PATCH`);
  }
  return { registry: ref.registry, repository: repositoryPath(ref), tag: ref.constraint.version.raw };
}
