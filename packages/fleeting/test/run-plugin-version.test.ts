import { spawn } from 'node:child_process';
import t from 'tap';
import { fixture } from './grpc-helpers.js';

for (const flag of ['-version', '--version']) {
  t.test(`${flag} prints the version block and exits 0 (no cookie needed)`, async (t) => {
    const child = spawn(process.execPath, [fixture('memory-plugin'), flag], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
    t.equal(code, 0);
    t.match(out, /^Name:\s+fleeting-plugin-memory\nVersion:\s+1\.2\.3\nGit revision:\s+abc123\nNode version:\s+v\d+\S*\nBuilt:\s+2026-01-01T00:00:00Z\nOS\/Arch:\s+linux\/\w+\n$/);
  });
}
