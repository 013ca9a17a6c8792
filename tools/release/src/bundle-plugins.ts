// esbuild plugins of the release bundle: optional native addons left out, and files that compiled modules read
// relative to themselves either carried by the bundle or refused.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Plugin } from 'esbuild';

/**
 * Bare module names that dependencies load only inside `try { require(…) } catch`, falling back to JavaScript:
 * ssh2's CPU-feature probe. Files ending in `.node` (ssh2's `sshcrypto.node`) are treated the same way.
 */
export const OPTIONAL_NATIVE_MODULES: readonly string[] = ['cpu-features'];

const STUB_NAMESPACE = 'fleetrunner-native-stub';

/**
 * Resolves optional native addons to a module that throws when required, so the dependency takes its pure
 * JavaScript path, as it does when the addon was never built. `seen` collects what was left out (as written in
 * the requiring file, with that file's path relative to `baseDir`).
 */
export function nativeStubPlugin(baseDir: string, seen: Set<string>): Plugin {
  const names = new Set(OPTIONAL_NATIVE_MODULES);
  return {
    name: 'fleetrunner-native-stub',
    setup(build) {
      build.onResolve({ filter: /\.node$|^[^./]/ }, (args) => {
        if (!args.path.endsWith('.node') && !names.has(args.path)) return undefined;
        seen.add(`${args.path} (from ${relative(baseDir, args.importer)})`);
        return { path: args.path, namespace: STUB_NAMESPACE };
      });
      build.onLoad({ filter: /.*/, namespace: STUB_NAMESPACE }, (args) => ({
        contents: `throw new Error(${JSON.stringify(`${args.path}: native addon left out of this single-file build`)});\n`,
        loader: 'js',
      }));
    },
  };
}

/** What {@link fileReferencePlugin} does with `new URL('<relative>', import.meta.url)` in compiled modules. */
export interface FileReferenceRules {
  /** Absolute paths of modules the bundle itself runs (main and named entries): references to them are kept. */
  entryModules: ReadonlySet<string>;
  /** Text inlined for `readFileSync(new URL('…/package.json', import.meta.url), 'utf8')`, by package.json path. */
  manifestText(packageJsonPath: string): string;
  /** Collects `relative path → what happened` for the build report. */
  seen: Map<string, string>;
  baseDir: string;
}

const MANIFEST_READ = /readFileSync\(\s*new URL\(\s*(['"])(\.{1,2}\/[^'"]*package\.json)\1\s*,\s*import\.meta\.url\s*\)\s*,\s*(['"])utf-?8\3\s*\)/g;
const FILE_REFERENCE = /new URL\(\s*(['"`])([^'"`]*)\1\s*,\s*import\.meta\.url\s*\)/g;
const OTHER_META = /import\.meta\.(?:resolve|dirname|filename)\b/;

/** A problem found while loading a module; the build fails with all of them. */
export interface ReferenceProblem {
  file: string;
  line: number;
  text: string;
}

function lineOf(source: string, index: number): number {
  return source.slice(0, index).split('\n').length;
}

/**
 * Rewrites the compiled modules outside node_modules so that the single file keeps working: a package.json read
 * relative to the module becomes that manifest's text (name and version only), a reference to a module the bundle
 * runs is kept (the code decides how it starts it), and any other file-relative reference — a file the bundle
 * would not carry — fails the build, as do `import.meta.resolve`/`dirname`/`filename`.
 */
export function fileReferencePlugin(rules: FileReferenceRules): Plugin {
  return {
    name: 'fleetrunner-file-references',
    setup(build) {
      build.onLoad({ filter: /\.[cm]?js$/ }, async (args) => {
        if (args.path.split(sep).includes('node_modules')) return undefined;
        const source = await readFile(args.path, 'utf8');
        if (!source.includes('import.meta')) return undefined;
        const rel = relative(rules.baseDir, args.path);
        const errors: { text: string; location: { file: string; line: number } }[] = [];
        const here = pathToFileURL(args.path);
        const contents = source.replace(MANIFEST_READ, (_all, _q: string, target: string) => {
          const manifest = fileURLToPath(new URL(target, here));
          rules.seen.set(`${rel}: ${target}`, 'inlined (name, version)');
          return JSON.stringify(rules.manifestText(manifest));
        });
        for (const m of contents.matchAll(FILE_REFERENCE)) {
          const target = m[2] ?? '';
          const abs = fileURLToPath(new URL(target, here));
          if (rules.entryModules.has(abs)) {
            rules.seen.set(`${rel}: ${target}`, 'entry carried by the bundle');
            continue;
          }
          errors.push({
            text: `reads ${target} relative to itself; a single-file bundle does not carry it (declare it in fleetrunnerRelease.entries if it is a module the plugin runs)`,
            location: { file: rel, line: lineOf(contents, m.index ?? 0) },
          });
        }
        const other = OTHER_META.exec(contents);
        if (other) errors.push({ text: `uses ${other[0]}, which has no meaning inside a single-file bundle`, location: { file: rel, line: lineOf(contents, other.index) } });
        if (errors.length) return { errors };
        return { contents, loader: 'js', resolveDir: dirname(args.path) };
      });
    },
  };
}

/** `{"name","version"}` of the package.json at `path`, with `version` replaced for the plugin's own manifest. */
export function manifestTextFor(pluginManifest: string, version: string): (path: string) => string {
  return (path) => {
    const raw: unknown = JSON.parse(readFileSync(path, 'utf8'));
    const obj = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
    const v = resolve(path) === resolve(pluginManifest) ? version : obj['version'];
    return JSON.stringify({ name: obj['name'], version: v });
  };
}
