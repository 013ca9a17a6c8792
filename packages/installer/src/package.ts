import { copyFile, mkdir, open, readdir, rm, stat, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { binaryMismatch } from './binary-format.js';
import { installerError } from './errors.js';
import { archDirName, formatPlatform, platformFromDirs, pluginFileName, type Platform } from './platform.js';

/** Platforms a JS bundle with a shebang is packaged for when none are named. */
export const SCRIPT_PLATFORMS: readonly Platform[] = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 'arm64' },
  { os: 'darwin', architecture: 'amd64' },
  { os: 'darwin', architecture: 'arm64' },
];

/** What to package. */
export type PackageSource =
  /** A single-file JS bundle starting with `#!` (e.g. `#!/usr/bin/env node`), the same file for every platform. */
  | { kind: 'script'; file: string; platforms?: readonly Platform[] }
  /** One native binary per platform. */
  | { kind: 'binaries'; files: readonly { platform: Platform; file: string }[] }
  /** A directory of `<name>-<os>-<arch>[.exe]` binaries, as Go release builds name them (`arm` means `armv7`). */
  | { kind: 'directory'; dir: string };

/** One packaged file. */
export interface PackagedFile {
  platform: Platform;
  /** `dist/<os>/<arch>/plugin[.exe]` */
  path: string;
}

async function readHead(file: string): Promise<Buffer> {
  const fh = await open(file, 'r').catch((err: unknown) => {
    throw installerError('bad_artifact', `reading ${file}: ${(err as Error).message}`, { cause: err });
  });
  try {
    const buf = Buffer.alloc(4096);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

const GO_NAME_RE = /^(.+)-(linux|darwin|freebsd|openbsd|netbsd|windows)-([a-z0-9]+?)(\.exe)?$/;

async function sourceFiles(source: PackageSource): Promise<{ platform: Platform; file: string }[]> {
  if (source.kind === 'binaries') return [...source.files];
  if (source.kind === 'script') {
    const head = await readHead(source.file);
    if (!head.subarray(0, 2).equals(Buffer.from('#!'))) throw installerError('bad_artifact', `${source.file}: a JS bundle must start with a shebang line (#!/usr/bin/env node)`);
    return (source.platforms ?? SCRIPT_PLATFORMS).map((platform) => ({ platform, file: source.file }));
  }
  const out: { platform: Platform; file: string }[] = [];
  for (const name of (await readdir(source.dir)).sort()) {
    const m = GO_NAME_RE.exec(name);
    if (!m?.[2] || !m[3]) continue;
    out.push({ platform: platformFromDirs(m[2], m[3]), file: join(source.dir, name) });
  }
  if (out.length === 0) throw installerError('bad_artifact', `${source.dir}: no files named <name>-<os>-<arch>[.exe]`);
  return out;
}

async function assertDistLayout(out: string): Promise<boolean> {
  let oses: string[];
  try {
    oses = await readdir(out);
  } catch {
    return false;
  }
  for (const os of oses) {
    const osDir = join(out, os);
    if (!(await stat(osDir)).isDirectory()) throw installerError('bad_artifact', `${out} holds ${os}, which is no dist/<os>/<arch>/plugin layout; refusing to clear it`);
    for (const arch of await readdir(osDir)) {
      const names = await readdir(join(osDir, arch)).catch(() => ['?']);
      if (names.some((n) => n !== 'plugin' && n !== 'plugin.exe')) throw installerError('bad_artifact', `${out}/${os}/${arch} holds more than a plugin; refusing to clear ${out}`);
    }
  }
  return oses.length > 0;
}

/**
 * Lays a plugin out as `<out>/<os>/<arch>/plugin` (`plugin.exe` on Windows; `armv7` style arch directories), the
 * input `fleeting-artifact release` and {@link publish} read. Checks each file's format and architecture against
 * its platform. A previous layout in `out` is replaced; anything else there is refused.
 */
export async function packagePlugin(out: string, source: PackageSource): Promise<PackagedFile[]> {
  const files = await sourceFiles(source);
  const seen = new Set<string>();
  for (const { platform, file } of files) {
    const key = `${platform.os}/${archDirName(platform)}`;
    if (seen.has(key)) throw installerError('bad_artifact', `two files for ${key}`);
    seen.add(key);
    const why = binaryMismatch(await readHead(file), platform.os, platform.architecture);
    if (why) throw installerError('bad_artifact', `${file} cannot be the plugin for ${formatPlatform(platform)}: ${why}`);
  }
  if (await assertDistLayout(out)) await rm(out, { recursive: true });
  const result: PackagedFile[] = [];
  for (const { platform, file } of files) {
    const dir = join(out, platform.os, archDirName(platform));
    await mkdir(dir, { recursive: true });
    const path = join(dir, pluginFileName(platform));
    await copyFile(file, path);
    await chmod(path, 0o755);
    result.push({ platform, path });
  }
  return result;
}

/** Reads a `dist/<os>/<arch>/plugin` layout back into platforms and files. */
export async function readDistLayout(dir: string): Promise<PackagedFile[]> {
  const out: PackagedFile[] = [];
  let oses: string[];
  try {
    oses = (await readdir(dir)).sort();
  } catch (err) {
    throw installerError('bad_artifact', `reading ${dir}: ${(err as Error).message}`, { cause: err });
  }
  for (const os of oses) {
    const archs = await readdir(join(dir, os)).catch(() => [] as string[]);
    for (const arch of archs.sort()) {
      const platform = platformFromDirs(os, arch);
      const path = join(dir, os, arch, pluginFileName(platform));
      const s = await stat(path).catch(() => undefined);
      if (s?.isFile()) out.push({ platform, path });
    }
  }
  if (out.length === 0) throw installerError('bad_artifact', `${dir} holds no <os>/<arch>/plugin files`);
  return out;
}
