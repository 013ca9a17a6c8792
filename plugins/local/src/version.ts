import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { packageVersion } from '@fleetrunner/fleeting';

/** This plugin's version, from its package.json. */
export const VERSION = packageVersion(() => readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));

/** GOOS-style name of this machine's OS (`linux`, `darwin`, `windows`…). */
export function goOs(platform: NodeJS.Platform = process.platform): string {
  return platform === 'win32' ? 'windows' : platform;
}

/** GOARCH-style name of this machine's CPU (`amd64`, `arm64`, `386`…). */
export function goArch(arch: string = process.arch): string {
  const map: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return map[arch] ?? arch;
}

/** `node=<v>; os_arch=<os>/<arch>`: the build information reported in ProviderInfo. */
export function buildInfo(): string {
  return `node=${process.version}; os_arch=${goOs()}/${goArch()}`;
}

/** The host name as used in the provider id `local/<hostname>/<name>`. */
export function hostName(): string {
  return hostname() || 'localhost';
}
