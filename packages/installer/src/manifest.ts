import { installerError } from './errors.js';
import type { Platform } from './platform.js';

/** Media types accepted when reading and written when publishing. */
export const MediaType = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerTar: 'application/vnd.oci.image.layer.v1.tar',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

/** The Accept header for manifest requests: indexes and image manifests, OCI and Docker v2. */
export const MANIFEST_ACCEPT = [MediaType.ociIndex, MediaType.dockerList, MediaType.ociManifest, MediaType.dockerManifest].join(', ');

/** A content descriptor. `size` in bytes, `digest` `sha256:<hex>`. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

/** An image index (OCI) or manifest list (Docker). */
export interface ImageIndex {
  kind: 'index';
  mediaType: string;
  manifests: Descriptor[];
}

/** An image manifest (OCI or Docker v2 schema 2). */
export interface ImageManifest {
  kind: 'manifest';
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
}

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function descriptor(v: unknown, where: string): Descriptor {
  if (!isRecord(v)) throw installerError('bad_manifest', `${where}: not an object`);
  const mediaType = str(v['mediaType']) ?? '';
  const digest = str(v['digest']);
  const size = v['size'];
  if (!digest || !DIGEST_RE.test(digest)) throw installerError('bad_manifest', `${where}: digest ${JSON.stringify(digest)} is not a sha256 digest`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw installerError('bad_manifest', `${where}: bad size`);
  const d: Descriptor = { mediaType, digest, size };
  const p = v['platform'];
  if (isRecord(p)) {
    const os = str(p['os']);
    const architecture = str(p['architecture']);
    const variant = str(p['variant']);
    if (os && architecture) d.platform = variant ? { os, architecture, variant } : { os, architecture };
  }
  const a = v['annotations'];
  if (isRecord(a)) d.annotations = Object.fromEntries(Object.entries(a).filter((e): e is [string, string] => typeof e[1] === 'string'));
  return d;
}

/**
 * Narrows a manifest body (bytes as fetched) to an index or image manifest. `contentType` is the response's
 * Content-Type, used when the body has no `mediaType` (allowed by OCI).
 */
export function parseManifest(body: Buffer, contentType: string | undefined): ImageIndex | ImageManifest {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw installerError('bad_manifest', 'manifest is not valid JSON', { cause: err });
  }
  if (!isRecord(json)) throw installerError('bad_manifest', 'manifest is not a JSON object');
  if (json['schemaVersion'] !== 2) throw installerError('bad_manifest', `unsupported manifest schemaVersion ${JSON.stringify(json['schemaVersion'])}`);
  const mediaType = str(json['mediaType']) ?? contentType?.split(';')[0]?.trim() ?? '';
  const manifests = json['manifests'];
  if (Array.isArray(manifests) || mediaType === MediaType.ociIndex || mediaType === MediaType.dockerList) {
    if (!Array.isArray(manifests)) throw installerError('bad_manifest', 'image index has no manifests array');
    return { kind: 'index', mediaType, manifests: manifests.map((m, i) => descriptor(m, `manifests[${i}]`)) };
  }
  const layers = json['layers'];
  if (!Array.isArray(layers)) throw installerError('bad_manifest', `manifest of type "${mediaType}" has no layers`);
  return { kind: 'manifest', mediaType, config: descriptor(json['config'], 'config'), layers: layers.map((l, i) => descriptor(l, `layers[${i}]`)) };
}

/** Reads os/architecture/variant out of an image config blob. */
export function platformOfConfig(body: Buffer): Platform | undefined {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!isRecord(json)) return undefined;
  const os = str(json['os']);
  const architecture = str(json['architecture']);
  const variant = str(json['variant']);
  if (!os || !architecture) return undefined;
  return variant ? { os, architecture, variant } : { os, architecture };
}

/** True for a layer media type this installer can unpack (gzip tar; plain tar too). */
export function layerCompression(mediaType: string): 'gzip' | 'none' | undefined {
  if (mediaType === MediaType.ociLayerGzip || mediaType === MediaType.dockerLayerGzip) return 'gzip';
  if (mediaType === MediaType.ociLayerTar) return 'none';
  return undefined;
}

/** True when `d` looks like a valid sha256 digest string. */
export function isDigest(d: string): boolean {
  return DIGEST_RE.test(d);
}
