// One-off scaffolding helper kept for new packages: writes package.json and tsconfig.json.
// Usage: node tools/mkpkg.mjs <dir> <name> <dep,dep,...> [ext:dep@ver,...]
import { writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
const [dir, name, deps = '', ext = ''] = process.argv.slice(2);
if (!dir || !name) throw new Error('usage: mkpkg <dir> <name> [internal deps] [external deps]');
mkdirSync(join(dir, 'src'), { recursive: true });
mkdirSync(join(dir, 'test'), { recursive: true });
const internal = deps.split(',').filter(Boolean);
const external = ext.split(',').filter(Boolean);
const pkg = {
  name,
  version: '0.1.0',
  private: true,
  type: 'module',
  exports: { '.': { types: './dist/src/index.d.ts', default: './dist/src/index.js' } },
  dependencies: Object.fromEntries([
    ...internal.map((d) => [`@fleetrunner/${d}`, 'workspace:*']),
    ...external.map((d) => { const i = d.lastIndexOf('@'); return [d.slice(0, i), d.slice(i + 1)]; }),
  ]),
};
if (!existsSync(join(dir, 'package.json'))) writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
const dirOf = (d) => (d.startsWith('plugin-') ? `plugins/${d.slice(7)}` : `packages/${d}`);
const ts = {
  extends: relative(dir, 'tsconfig.base.json'),
  compilerOptions: { rootDir: '.', outDir: 'dist' },
  include: ['src', 'test'],
  references: internal.map((d) => ({ path: relative(dir, dirOf(d)) })),
};
writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(ts, null, 2) + '\n');
