#!/usr/bin/env node
// Checks that internal dependencies only point down the chain in the README's Layout section, both in package.json and in
// the import statements of every source file.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PLUGIN_DEPS = ['common', 'fleeting', 'plugin'];
// package short name → internal packages it may import ('*' = anything but the listed exclusions).
const ALLOWED = {
  common: [],
  proto: ['common'],
  config: ['common'],
  plugin: ['common', 'proto'],
  fleeting: ['common', 'proto', 'plugin'],
  taskscaler: ['common', 'config', 'fleeting'],
  connector: ['common', 'fleeting'],
  nesting: ['common', 'proto'],
  // plugins/nesting: the nesting daemon (not a fleeting plugin), a binary on the host over the nesting client package.
  'nesting-daemon': ['common', 'proto', 'nesting'],
  gitlab: ['common'],
  executor: ['common', 'config', 'taskscaler', 'fleeting', 'connector', 'nesting', 'gitlab', 'installer'],
  pipeline: ['common', 'config', 'gitlab', 'executor'],
  manager: ['common', 'config', 'taskscaler', 'fleeting', 'gitlab', 'executor'],
  installer: ['common'],
  cli: '*',
  testing: { anyBut: ['cli', 'manager', 'pipeline'] },
};

function internalName(dep) {
  const m = /^@fleetrunner\/(.+)$/.exec(dep);
  return m ? m[1] : undefined;
}

function allowedFor(name) {
  if (name.startsWith('plugin-')) return PLUGIN_DEPS;
  return ALLOWED[name];
}

function permits(rule, dep) {
  if (rule === '*') return true;
  if (Array.isArray(rule)) return rule.includes(dep);
  if (rule && rule.anyBut) return !rule.anyBut.includes(dep);
  return false;
}

function sourceFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : /\.(ts|mts|js|mjs)$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

const problems = [];
for (const group of ['packages', 'plugins']) {
  for (const dir of readdirSync(join(root, group))) {
    const pkgPath = join(root, group, dir, 'package.json');
    if (!existsSync(pkgPath)) continue;
    const pkg = JSON.parse(readFileSync(pkgPath, 'utf8'));
    const self = internalName(pkg.name);
    const rule = allowedFor(self);
    if (rule === undefined) {
      problems.push(`${group}/${dir}: package ${pkg.name} is not in the layering table of tools/depcheck`);
      continue;
    }
    const devOnly = new Set(Object.keys(pkg.devDependencies ?? {}));
    for (const dep of Object.keys(pkg.dependencies ?? {})) {
      const d = internalName(dep);
      if (d && !permits(rule, d)) problems.push(`${group}/${dir}/package.json: ${pkg.name} may not depend on ${dep}`);
    }
    for (const file of sourceFiles(join(root, group, dir, 'src'))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"](@fleetrunner\/[^'"/]+)/g)) {
        const d = internalName(m[1]);
        if (d && d !== self && !permits(rule, d) && !devOnly.has(m[1])) {
          problems.push(`${file.slice(root.length + 1)}: imports ${m[1]}, which ${pkg.name} may not use`);
        }
      }
    }
  }
}
if (problems.length) {
  for (const p of problems) console.error(`depcheck: ${p}`);
  process.exit(1);
}
console.log('depcheck: dependencies point down the architecture table');
