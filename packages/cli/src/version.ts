import { readFileSync } from 'node:fs';
import { arch, platform } from 'node:os';

const GOARCH: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', s390x: 's390x', ppc64: 'ppc64le' };

/** This build's version, read from the CLI package's package.json. */
export function cliVersion(): string {
  const pkg: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  if (pkg && typeof pkg === 'object' && 'version' in pkg && typeof pkg.version === 'string') return pkg.version;
  return '0.0.0';
}

/** `runner --version`: the same block shape as gitlab-runner's, with Node in place of Go. */
export function versionBlock(): string {
  return [
    `Version:      ${cliVersion()}`,
    `Node version: ${process.version}`,
    `OS/Arch:      ${platform()}/${GOARCH[arch()] ?? arch()}`,
  ].join('\n');
}
