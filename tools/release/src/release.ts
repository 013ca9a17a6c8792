// `node tools/release/dist/src/release.js <plugin>… --registry <host[:port]> [options]`: releases fleetrunner's own
// plugins (see README). Prints one line per step; sets a non-zero exit code on failure instead of exiting, so
// pending output is flushed.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { toRunnerError } from '@fleetrunner/common';
import { resolvePluginDir } from './release-config.js';
import { DEFAULT_RELEASE_REPOSITORY, releasePlugin } from './release-plugin.js';

const USAGE = `usage: release.js <plugin>... (--registry <host[:port]> | --dry-run) [options]
  <plugin>                 a directory under plugins/ (local) or a path to a plugin package
  --registry <host:port>   registry to publish to
  --repository <path>      repository path under the registry (default ${DEFAULT_RELEASE_REPOSITORY})
  --version <x.y.z>        version to publish (default: the package.json version; one plugin only)
  --out <dir>              bundle and layout directory (default <plugin>/dist/release; one plugin only)
  --no-build               do not run tsc -b on the plugin first
  --no-minify              keep the bundle's whitespace
  --force                  publish over an existing version tag
  --dry-run                bundle and package, do not publish
  --docker-config <file>   Docker config.json with the registry's credentials
  --ca-file <file>         extra CA certificates (PEM)
  --insecure-registry <h>  allow plain HTTP to this host (repeatable)
`;

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      registry: { type: 'string' },
      repository: { type: 'string' },
      version: { type: 'string' },
      out: { type: 'string' },
      'no-build': { type: 'boolean', default: false },
      'no-minify': { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      'docker-config': { type: 'string' },
      'ca-file': { type: 'string' },
      'insecure-registry': { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help || positionals.length === 0 || (!values.registry && !values['dry-run'])) {
    (values.help ? process.stdout : process.stderr).write(USAGE);
    return values.help ? 0 : 2;
  }
  if (positionals.length > 1 && (values.version || values.out)) {
    process.stderr.write('--version and --out apply to one plugin at a time\n');
    return 2;
  }
  let failed = 0;
  for (const plugin of positionals) {
    try {
      await releasePlugin(resolvePluginDir(plugin, root), {
        registry: values.registry,
        repository: values.repository,
        version: values.version,
        outDir: values.out,
        build: !values['no-build'],
        minify: !values['no-minify'],
        force: values.force,
        dryRun: values['dry-run'],
        dockerConfig: values['docker-config'],
        caFile: values['ca-file'],
        insecureRegistries: values['insecure-registry'],
        onStep: (line) => process.stdout.write(line + '\n'),
      });
    } catch (err) {
      failed++;
      process.stderr.write(`release error: ${toRunnerError(err).message}\n`);
    }
  }
  return failed ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    process.stderr.write(`release error: ${toRunnerError(err).message}\n${USAGE}`);
    process.exitCode = 2;
  },
);
