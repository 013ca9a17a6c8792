import { parseArgs } from 'node:util';
import { RunnerError } from '@fleetrunner/common';
import { formatDiagnostics, loadConfig } from '@fleetrunner/config';
import {
  bundleExportCommand,
  bundleImportCommand,
  installCommand,
  listCommand,
  loginCommand,
  packageCommand,
  publishCommand,
  type CommandIO,
  type PluginUse,
} from '@fleetrunner/installer';
import { defaultConfigPath } from '../config-path.js';
import type { Output } from '../output.js';
import { installHint } from '@fleetrunner/executor';
import { builtinPlugins } from '../plugin-path.js';

export const usage = `Usage:
  runner fleeting [-c FILE] install [--upgrade]      install every runner's [runners.autoscaler] plugin
  runner fleeting [-c FILE] list                     the plugin each runner would use (installed or embedded)
  runner fleeting login [--username U] [--password-stdin] [SERVER]
  runner fleeting package [--out dist] (--script FILE [--platform os/arch]… | --binary os/arch=PATH… | --from DIR)
  runner fleeting publish [--dir dist] REGISTRY/REPO/NAME:VERSION
  runner fleeting bundle export --file FILE REF…      plugins and their digests in one tarball (air-gapped sites)
  runner fleeting bundle import --file FILE
  runner fleeting conformance PLUGIN [--config plugin_config.json]

-c/--config (CONFIG_FILE) goes before the subcommand as GitLab Runner takes it; after it is accepted too.
Plugins install under $FLEETING_PLUGIN_PATH, else ~/.config/fleeting/plugins.`;

function commandIO(io: Output): CommandIO {
  return {
    out: { write: (s: string) => io.out(s.replace(/\n$/, '')) },
    err: { write: (s: string) => io.err(s.replace(/\n$/, '')), isTTY: process.stderr.isTTY },
  };
}

/** `[runners.autoscaler] plugin` of every runner of the config file. */
async function pluginsOf(file: string): Promise<PluginUse[]> {
  const result = await loadConfig(file, { env: process.env });
  if (result.errors.length > 0 || !result.config) throw new RunnerError('invalid_argument', formatDiagnostics(result));
  return result.config.runners.flatMap((r, i) => (r.autoscaler?.plugin ? [{ runner: r.name || `runners[${i}]`, plugin: r.autoscaler.plugin }] : []));
}

/** Takes `-c FILE`/`--config FILE`/`--config=FILE` off the front of the arguments (the parent command's flag). */
function takeParentConfig(argv: string[]): { config: string | undefined; rest: string[] } {
  let config: string | undefined;
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-c' || a === '--config') {
      config = argv[++i];
      if (config === undefined) throw new RunnerError('invalid_argument', `${a}: a config file is required`);
    } else if (a.startsWith('--config=')) config = a.slice(9);
    else break;
  }
  return { config, rest: argv.slice(i) };
}

/** `runner fleeting [-c FILE] install|list|login|package|publish|bundle`. Returns the exit code. */
export async function fleetingCommand(argv: string[], io: Output): Promise<number> {
  const parent = takeParentConfig(argv);
  const [sub, ...args] = parent.rest;
  const cio = commandIO(io);
  switch (sub) {
    case 'install':
    case 'list': {
      const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' }, upgrade: { type: 'boolean' } } });
      const file = values.config ?? parent.config ?? defaultConfigPath();
      const plugins = await pluginsOf(file);
      if (plugins.length === 0) {
        io.err('No plugins to install, review your runner configuration.');
        return 0;
      }
      // The lookup `runner run` does, so "already installed" and "path" say what it would start.
      const lookup = { builtin: builtinPlugins(), installHint: installHint(file) };
      const r = sub === 'install' ? await installCommand({ plugins, upgrade: values.upgrade ?? false, io: cio, ...lookup }) : await listCommand({ plugins, io: cio, ...lookup });
      return r.exitCode;
    }
    case 'login': {
      const { values, positionals } = parseArgs({
        args,
        allowPositionals: true,
        options: { username: { type: 'string', short: 'u' }, password: { type: 'string', short: 'p' }, 'password-stdin': { type: 'boolean' } },
      });
      const r = await loginCommand({
        ...(positionals[0] ? { server: positionals[0] } : {}),
        ...(values.username ? { username: values.username } : {}),
        ...(values.password ? { password: values.password } : {}),
        ...(values['password-stdin'] ? { passwordStdin: process.stdin } : {}),
        io: cio,
      });
      return r.exitCode;
    }
    case 'package': {
      const { values } = parseArgs({
        args,
        options: { out: { type: 'string' }, script: { type: 'string' }, binary: { type: 'string', multiple: true }, from: { type: 'string' }, platform: { type: 'string', multiple: true } },
      });
      const r = await packageCommand({
        ...(values.out ? { out: values.out } : {}),
        ...(values.script ? { script: values.script } : {}),
        ...(values.binary ? { binaries: values.binary } : {}),
        ...(values.from ? { fromDir: values.from } : {}),
        ...(values.platform ? { platforms: values.platform } : {}),
        io: cio,
      });
      return r.exitCode;
    }
    case 'publish': {
      const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { dir: { type: 'string' } } });
      if (positionals.length !== 1) {
        io.err(usage);
        return 2;
      }
      return (await publishCommand({ target: positionals[0]!, ...(values.dir ? { dir: values.dir } : {}), io: cio })).exitCode;
    }
    case 'bundle': {
      const [action, ...rest] = args;
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { file: { type: 'string', short: 'f' } } });
      if (!values.file || (action !== 'export' && action !== 'import') || (action === 'export' && positionals.length === 0)) {
        io.err(usage);
        return 2;
      }
      const r = action === 'export' ? await bundleExportCommand({ references: positionals, file: values.file, io: cio }) : await bundleImportCommand({ file: values.file, io: cio });
      return r.exitCode;
    }
    default:
      io.err(usage);
      return 2;
  }
}
