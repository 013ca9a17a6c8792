import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { build, type BuildFailure, type Message, type Metafile } from 'esbuild';
import { RunnerError, writeFileAtomic } from '@fleetrunner/common';
import { fileReferencePlugin, manifestTextFor, nativeStubPlugin } from './bundle-plugins.js';
import type { PluginRelease } from './release-config.js';

/**
 * The first argument that makes a release bundle run one of its named entries (`<bundle> --fleetrunner-entry
 * <name> …args`). The bundler defines the global `FLEETRUNNER_ENTRY_FLAG` to it, so plugin code can tell that it
 * runs bundled and start its own entries that way.
 */
export const ENTRY_FLAG = '--fleetrunner-entry';

/** Lowest Node the bundle is compiled for (syntax), the project's engine line. */
export const BUNDLE_TARGET = 'node20';

/** Options of {@link bundlePlugin}. */
export interface BundleOptions {
  /** The file to write (mode 0755), replaced atomically. */
  outFile: string;
  /** Version the bundle reports (its package.json as seen by the code); default the package's own. */
  version?: string;
  /** Whitespace and syntax minification (identifiers are kept for readable stack traces); default true. */
  minify?: boolean;
}

/** What {@link bundlePlugin} wrote. */
export interface BundleResult {
  file: string;
  /** Size in bytes. */
  bytes: number;
  /** `sha256:<hex>` of the file. */
  sha256: string;
  /** Wall time of the esbuild run and the write, ms. */
  durationMs: number;
  /** Number of source modules in the bundle. */
  modules: number;
  /** Optional native addons left out (the dependency falls back to JavaScript). */
  nativeLeftOut: string[];
  /** File-relative references found in compiled modules and what was done with each. */
  fileReferences: string[];
  /** esbuild warnings, formatted `file:line: text`. */
  warnings: string[];
}

function formatMessage(m: Message): string {
  return m.location ? `${m.location.file}:${m.location.line}: ${m.text}` : m.text;
}

function isBuildFailure(err: unknown): err is BuildFailure {
  return err instanceof Error && Array.isArray((err as Partial<BuildFailure>).errors);
}

/** `./x` import specifier of `target` from `fromDir`, with forward slashes. */
function specifier(fromDir: string, target: string): string {
  const rel = relative(fromDir, target).split(sep).join('/');
  return rel.startsWith('.') ? rel : `./${rel}`;
}

/**
 * The bundle's entry: runs the plugin's main module, or, after {@link ENTRY_FLAG} and a name, that entry with the
 * two arguments taken out of `process.argv`. Dynamic imports keep each one's top-level code from running unless
 * chosen; esbuild inlines them, so the output stays one file.
 */
export function entrySource(release: PluginRelease): string {
  const names = Object.keys(release.entries).sort();
  const cases = names.map((n) => `    case ${JSON.stringify(n)}: await import(${JSON.stringify(specifier(release.dir, join(release.dir, release.entries[n] ?? '')))}); break;`);
  return [
    'const argv = process.argv;',
    `if (argv[2] === ${JSON.stringify(ENTRY_FLAG)}) {`,
    '  const name = argv[3];',
    '  argv.splice(2, 2);',
    '  switch (name) {',
    ...cases,
    '    default:',
    `      process.stderr.write(\`\${argv[1]}: no entry "\${name}" in this bundle (have: ${names.join(', ') || 'none'})\\n\`);`,
    '      process.exitCode = 2;',
    '  }',
    '} else {',
    `  await import(${JSON.stringify(specifier(release.dir, join(release.dir, release.main)))});`,
    '}',
    '',
  ].join('\n');
}

/**
 * Lines before the bundle: the shebang, then what CommonJS dependencies expect of their scope. `require` loads
 * Node built-ins (nothing else is left outside the bundle); `__dirname`/`__filename` are defined to these names
 * so that, e.g., ssh2's embedded WebAssembly loader can evaluate them.
 */
function banner(release: PluginRelease, version: string): string {
  return [
    '#!/usr/bin/env node',
    `// ${release.packageName} ${version}: single-file build by fleetrunner tools/release. Needs Node >= 20.19 or >= 22.7.`,
    "import { createRequire as __fleetrunnerCreateRequire } from 'node:module';",
    "import { fileURLToPath as __fleetrunnerFileURLToPath } from 'node:url';",
    'const require = __fleetrunnerCreateRequire(import.meta.url);',
    'const __fleetrunner_filename = __fleetrunnerFileURLToPath(import.meta.url);',
    "const __fleetrunner_dirname = __fleetrunnerFileURLToPath(new URL('.', import.meta.url));",
  ].join('\n');
}

/** Every import left outside the bundle must be a Node built-in. */
function checkExternals(meta: Metafile): void {
  const foreign = new Set<string>();
  for (const out of Object.values(meta.outputs)) {
    for (const imp of out.imports) if (imp.external && !isBuiltin(imp.path)) foreign.add(imp.path);
  }
  if (foreign.size) throw new RunnerError('invalid_argument', `imports left outside the bundle that are not Node built-ins: ${[...foreign].sort().join(', ')}`);
}

/**
 * Bundles a plugin package's compiled modules (run `tsc -b` first) and their dependencies into one ESM file with
 * a `#!/usr/bin/env node` shebang that runs with no node_modules around it. Deterministic: the same inputs give
 * the same bytes, wherever the checkout is. Fails with `invalid_argument` on a build error, a file the bundle
 * would not carry, or a non-built-in import left outside it.
 */
export async function bundlePlugin(release: PluginRelease, options: BundleOptions): Promise<BundleResult> {
  const started = performance.now();
  const version = options.version ?? release.version;
  const minify = options.minify ?? true;
  const nativeLeftOut = new Set<string>();
  const references = new Map<string, string>();
  const entryModules = new Set([release.main, ...Object.values(release.entries)].map((m) => join(release.dir, m)));
  let result;
  try {
    result = await build({
      stdin: { contents: entrySource(release), resolveDir: release.dir, sourcefile: 'fleetrunner-release-entry.js', loader: 'js' },
      absWorkingDir: release.dir,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: BUNDLE_TARGET,
      write: false,
      outfile: options.outFile,
      metafile: true,
      logLevel: 'silent',
      legalComments: 'eof',
      minifyWhitespace: minify,
      minifySyntax: minify,
      define: { FLEETRUNNER_ENTRY_FLAG: JSON.stringify(ENTRY_FLAG), __dirname: '__fleetrunner_dirname', __filename: '__fleetrunner_filename' },
      banner: { js: banner(release, version) },
      plugins: [
        nativeStubPlugin(release.dir, nativeLeftOut),
        fileReferencePlugin({ entryModules, manifestText: manifestTextFor(join(release.dir, 'package.json'), version), seen: references, baseDir: release.dir }),
      ],
    });
  } catch (err) {
    if (isBuildFailure(err)) throw new RunnerError('invalid_argument', `bundling ${release.packageName}: ${err.errors.map(formatMessage).join('; ')}`, { cause: err });
    throw RunnerError.wrap(`bundling ${release.packageName}`, err);
  }
  checkExternals(result.metafile);
  const out = result.outputFiles.find((f) => f.path.endsWith('.js'));
  if (!out) throw new RunnerError('internal', `bundling ${release.packageName}: esbuild wrote no JavaScript`);
  await mkdir(dirname(options.outFile), { recursive: true });
  try {
    await writeFileAtomic(options.outFile, out.contents, { mode: 0o755 });
  } catch (err) {
    throw RunnerError.wrap(`writing ${options.outFile}`, err, 'unavailable');
  }
  return {
    file: options.outFile,
    bytes: out.contents.length,
    sha256: 'sha256:' + createHash('sha256').update(out.contents).digest('hex'),
    durationMs: performance.now() - started,
    modules: Object.keys(result.metafile.inputs).length,
    nativeLeftOut: [...nativeLeftOut].sort(),
    fileReferences: [...references].map(([k, v]) => `${k} → ${v}`).sort(),
    warnings: result.warnings.map(formatMessage),
  };
}
