import { RunnerError } from '@fleetrunner/common';
import { errorKind, installerError } from './errors.js';
import { parseManifest, platformOfConfig, layerCompression, type Descriptor, type ImageManifest } from './manifest.js';
import { formatPlatform, platformMatches, type Platform } from './platform.js';
import { formatReference, repositoryPath, type PluginReference } from './reference.js';
import type { RegistryClient } from './registry-client.js';
import { readBody } from './http-transport.js';
import { compareSemVer, formatConstraint, highestMatch, parseSemVer } from './semver.js';

/** What a reference resolved to on its registry. */
export interface RemotePlugin {
  ref: PluginReference;
  version: string;
  /** Digest of what the tag points at (the index, or a single-platform manifest). */
  tagDigest: string;
  /** Digest of the image manifest chosen for the platform. */
  manifestDigest: string;
  /** The layers to look into for `plugin`, in manifest order. */
  layers: Descriptor[];
}

/** The highest tag of `ref`'s repository that matches its constraint. */
export async function resolveVersion(client: RegistryClient, ref: PluginReference, signal?: AbortSignal): Promise<string> {
  const repo = repositoryPath(ref);
  let tags: string[];
  try {
    tags = await client.listTags(repo, { signal });
  } catch (err) {
    if (errorKind(err) === 'unknown_plugin') {
      throw installerError('unknown_plugin', `unknown plugin: ${ref.registry} has no repository ${repo}`, { cause: err });
    }
    if (errorKind(err) === 'unauthorized') {
      // Registries such as GitLab's answer 401 for repositories that do not exist as for private ones.
      throw installerError('unauthorized', `${(err as Error).message}; the plugin does not exist or needs credentials (login)`, { cause: err });
    }
    throw err;
  }
  const best = highestMatch(tags, ref.constraint);
  if (!best) {
    const versions = tags.flatMap((t) => {
      const v = parseSemVer(t);
      return v ? [v] : [];
    });
    versions.sort((a, b) => compareSemVer(b, a));
    const shown = versions.slice(0, 10).map((v) => v.raw).join(', ');
    throw installerError(
      'no_matching_version',
      `no version matches "${formatConstraint(ref.constraint)}" (available: ${shown || 'none'}${versions.length > 10 ? ', …' : ''})`,
    );
  }
  return best.raw;
}

function usableLayers(m: ImageManifest): Descriptor[] {
  const layers = m.layers.filter((l) => layerCompression(l.mediaType) !== undefined);
  if (layers.length === 0) {
    throw installerError('bad_manifest', `image manifest has no tar layer (media types: ${m.layers.map((l) => l.mediaType).join(', ') || 'none'})`);
  }
  return layers;
}

/**
 * Resolves `ref` to a version, then the image manifest for `platform`: from an image index by its platform
 * fields, or a single manifest by its config's os/architecture.
 */
export async function resolveRemote(client: RegistryClient, ref: PluginReference, platform: Platform, signal?: AbortSignal): Promise<RemotePlugin> {
  const version = await resolveVersion(client, ref, signal);
  const repo = repositoryPath(ref);
  const top = await client.getManifest(repo, version, { signal });
  const parsed = parseManifest(top.body, top.contentType);
  if (parsed.kind === 'index') {
    const candidates = parsed.manifests.filter((d) => d.platform && d.platform.os !== 'unknown');
    const chosen = candidates.find((d) => d.platform && platformMatches(d.platform, platform));
    if (!chosen) {
      const have = candidates.map((d) => (d.platform ? formatPlatform(d.platform) : '?')).join(', ');
      throw installerError('platform_not_found', `version ${version} has no build for ${formatPlatform(platform)} (available: ${have || 'none'})`);
    }
    const m = await client.getManifest(repo, chosen.digest, { signal });
    const manifest = parseManifest(m.body, m.contentType);
    if (manifest.kind !== 'manifest') throw installerError('bad_manifest', `index entry ${chosen.digest} is not an image manifest`);
    return { ref, version, tagDigest: top.digest, manifestDigest: m.digest, layers: usableLayers(manifest) };
  }
  const res = await client.openBlob(repo, parsed.config.digest, { signal });
  const config = await readBody(res, 1 << 20, 'image config');
  const own = platformOfConfig(config);
  if (own && !platformMatches(own, platform)) {
    throw installerError('platform_not_found', `version ${version} is built for ${formatPlatform(own)} only, not ${formatPlatform(platform)}`);
  }
  return { ref, version, tagDigest: top.digest, manifestDigest: top.digest, layers: usableLayers(parsed) };
}

/** Prefixes an error with the reference it was about: `installing registry/repo/name:c: …`. */
export function aboutReference(ref: PluginReference | string, err: unknown): RunnerError {
  const name = typeof ref === 'string' ? ref : formatReference(ref);
  return RunnerError.wrap(`installing ${name}`, err);
}
