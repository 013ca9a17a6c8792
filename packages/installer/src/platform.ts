import { installerError } from './errors.js';

/** An OCI platform (`os`/`architecture`/`variant`), Go-style names: `linux`/`amd64`, `linux`/`arm`/`v7`. */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

const OS: Record<string, string> = { win32: 'windows', linux: 'linux', darwin: 'darwin', freebsd: 'freebsd', openbsd: 'openbsd' };
const ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', ia32: '386', arm: 'arm', s390x: 's390x', ppc64: 'ppc64le', riscv64: 'riscv64', loong64: 'loong64' };

/** The platform this process runs on, in OCI terms. */
export function hostPlatform(): Platform {
  const os = OS[process.platform] ?? process.platform;
  const architecture = ARCH[process.arch] ?? process.arch;
  if (architecture !== 'arm') return { os, architecture };
  const v: unknown = (process.config.variables as Record<string, unknown>)['arm_version'];
  return { os, architecture, variant: `v${typeof v === 'string' || typeof v === 'number' ? String(v) : '7'}` };
}

/** `os/arch[/variant]`. */
export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter((x) => x !== undefined && x !== '').join('/');
}

/** Parses `os/arch[/variant]`. */
export function parsePlatform(s: string): Platform {
  const parts = s.split('/');
  const [os, architecture, variant] = parts;
  if (parts.length < 2 || parts.length > 3 || !os || !architecture || (parts.length === 3 && !variant)) {
    throw installerError('bad_reference', `invalid platform "${s}": want os/arch[/variant]`);
  }
  return variant ? { os, architecture, variant } : { os, architecture };
}

/**
 * The directory name `fleeting-artifact` uses for an architecture under `dist/<os>/`: the arch, with the ARM
 * variant folded in (`armv7`), and the reverse.
 */
export function archDirName(p: Platform): string {
  return p.architecture === 'arm' && p.variant ? `arm${p.variant}` : p.architecture;
}

/** Parses `dist/<os>/<archdir>` names back into a platform (`armv7` → arm/v7, `arm` → arm/v7 as Go's default). */
export function platformFromDirs(os: string, archDir: string): Platform {
  const m = /^arm(v\d+)$/.exec(archDir);
  if (m?.[1]) return { os, architecture: 'arm', variant: m[1] };
  if (archDir === 'arm') return { os, architecture: 'arm', variant: 'v7' };
  if (archDir === 'arm64') return { os, architecture: 'arm64' };
  return { os, architecture: archDir };
}

/**
 * True when an artifact built for `candidate` runs on `want`. A missing variant on either side matches (the
 * common case of arm64 images that carry `v8` or nothing).
 */
export function platformMatches(candidate: Platform, want: Platform): boolean {
  if (candidate.os !== want.os || candidate.architecture !== want.architecture) return false;
  if (!candidate.variant || !want.variant) return true;
  return candidate.variant === want.variant;
}

/** The file name a plugin binary has on `p`. */
export function pluginFileName(p: Pick<Platform, 'os'>): string {
  return p.os === 'windows' ? 'plugin.exe' : 'plugin';
}
