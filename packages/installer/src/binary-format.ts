/** What the first bytes of a plugin file say it is built for. */
export type BinaryKind =
  | { kind: 'script' }
  | { kind: 'elf'; architecture: string | undefined }
  | { kind: 'macho'; architecture: string | undefined }
  | { kind: 'pe'; architecture: string | undefined }
  | { kind: 'unknown' };

const ELF_MACHINES: Record<number, string> = { 3: '386', 20: 'ppc', 21: 'ppc64le', 22: 's390x', 40: 'arm', 62: 'amd64', 183: 'arm64', 243: 'riscv64', 258: 'loong64' };
const MACHO_CPU: Record<number, string> = { 0x01000007: 'amd64', 0x0100000c: 'arm64', 7: '386', 12: 'arm' };
const PE_MACHINES: Record<number, string> = { 0x8664: 'amd64', 0x14c: '386', 0xaa64: 'arm64', 0x1c4: 'arm' };

/** Identifies a script (shebang), ELF, Mach-O or PE executable from its first bytes (512 are plenty). */
export function identifyBinary(head: Buffer): BinaryKind {
  if (head.length >= 2 && head[0] === 0x23 && head[1] === 0x21) return { kind: 'script' };
  if (head.length >= 20 && head.readUInt32BE(0) === 0x7f454c46) {
    const le = head[5] === 1;
    const machine = le ? head.readUInt16LE(18) : head.readUInt16BE(18);
    return { kind: 'elf', architecture: ELF_MACHINES[machine] };
  }
  if (head.length >= 8) {
    const magicLE = head.readUInt32LE(0);
    if (magicLE === 0xfeedfacf || magicLE === 0xfeedface) return { kind: 'macho', architecture: MACHO_CPU[head.readUInt32LE(4)] };
    if (head.readUInt32BE(0) === 0xcafebabe) return { kind: 'macho', architecture: undefined };
  }
  if (head.length >= 64 && head[0] === 0x4d && head[1] === 0x5a) {
    const off = head.readUInt32LE(0x3c);
    if (off + 6 <= head.length && head.readUInt32BE(off) === 0x50450000) return { kind: 'pe', architecture: PE_MACHINES[head.readUInt16LE(off + 4)] };
    return { kind: 'pe', architecture: undefined };
  }
  return { kind: 'unknown' };
}

/**
 * Why `head` cannot be the plugin for `os`/`architecture`, or undefined when it fits (or cannot be told). A
 * script fits any OS but Windows; native binaries must have the OS's format and, when readable, the arch.
 */
export function binaryMismatch(head: Buffer, os: string, architecture: string): string | undefined {
  const b = identifyBinary(head);
  const want = os === 'windows' ? 'pe' : os === 'darwin' ? 'macho' : 'elf';
  if (b.kind === 'script') return os === 'windows' ? 'a script cannot be a Windows plugin' : undefined;
  if (b.kind === 'unknown') return 'not an executable (no shebang, ELF, Mach-O or PE header)';
  if (b.kind !== want) return `a ${b.kind.toUpperCase()} binary, not what ${os} runs (${want.toUpperCase()})`;
  if (b.architecture && b.architecture !== architecture) return `built for ${b.architecture}, not ${architecture}`;
  return undefined;
}
