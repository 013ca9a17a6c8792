import { createLogger, toRunnerError, type LogLevel } from '@fleetrunner/common';
import { processOutput, type Output } from './output.js';
import { versionBlock } from './version.js';
import { parseLogLevel, takeGlobalFlags } from './global-flags.js';

const USAGE = `Usage: runner [--debug] [--log-level L] [--log-format F] <command> [options]

Commands:
  run [--config F]                the manager: take jobs from GitLab, run them on autoscaled instances
  run-single --url U --token T    one runner from flags and environment, no config file
  register --url U --token T      add a [[runners]] entry to the config (the token is verified first)
  unregister (--name N | --url U --token T | --all-runners)   remove runners from GitLab and the config
  reset-token (--name N | --url U --id I | --all-runners)     new tokens for runners, saved to the config
  verify [--config F] [--delete]  check every runner's token with GitLab
  list [--config F]               the runners of a config file
  install|uninstall|start|stop|restart|status [--service N]   the systemd service
  exec [--config F] [JOB…]        run a .gitlab-ci.yml's jobs on autoscaled instances (default: local plugin)
  config validate [--config F]    check a config.toml (errors and warnings with file, line and key path)
  fleeting conformance <plugin>   run the fleeting conformance suite against a plugin binary ("local" = embedded)
  fleeting install|list|login|package|publish|bundle   fleeting plugins from OCI registries
  --version                       print version information

Global (before the command): --debug (RUNNER_DEBUG), --log-level/-l trace|debug|info|warn|error (LOG_LEVEL; default
warn for one-shot commands), --log-format runner|text|json (LOG_FORMAT). --config/-c (CONFIG_FILE) after the command.`;

/** Splits `--log-level X` given after the command off the arguments (one-shot commands). */
function takeLogLevel(argv: string[], level: LogLevel): { level: LogLevel; rest: string[] } {
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = a === '--log-level' ? argv[++i] : a.startsWith('--log-level=') ? a.slice(12) : undefined;
    if (v === undefined) {
      rest.push(a);
      continue;
    }
    level = parseLogLevel('--log-level', v);
  }
  return { level, rest };
}

/** Entry point of the `runner` command; returns the process exit code (the bin script sets it). */
export async function main(argv: string[], io: Output = processOutput): Promise<number> {
  try {
    const { globals, rest: afterGlobals } = takeGlobalFlags(argv);
    // Each command's module is loaded only when it runs (`runner --version` loads none of them).
    if (afterGlobals[0] === 'run') return await (await import('./commands/run.js')).runCommand(afterGlobals.slice(1), io, globals);
    const { level, rest } = takeLogLevel(afterGlobals, globals.level ?? 'warn');
    const logger = createLogger({ level });
    const [cmd, sub, ...args] = rest;
    if (cmd === '--version' || cmd === '-v' || cmd === 'version') {
      io.out(versionBlock());
      return 0;
    }
    if (cmd === 'fleeting' && sub === 'conformance') return await (await import('./commands/fleeting-conformance.js')).fleetingConformance(args, io, logger);
    if (cmd === 'config' && sub === 'validate') return await (await import('./commands/config-validate.js')).configValidate(args, io);
    if (cmd === 'run-single') return await (await import('./commands/run-single.js')).runSingleCommand(rest.slice(1), io, globals);
    if (cmd === 'unregister') return await (await import('./commands/unregister.js')).unregisterCommand(rest.slice(1), io);
    if (cmd === 'reset-token') return await (await import('./commands/reset-token.js')).resetTokenCommand(rest.slice(1), io);
    if (cmd === 'register') return await (await import('./commands/register.js')).registerCommand(rest.slice(1), io);
    if (cmd === 'verify') return await (await import('./commands/verify.js')).verifyCommand(rest.slice(1), io);
    if (cmd === 'list') return await (await import('./commands/list.js')).listCommand(rest.slice(1), io);
    if (cmd === 'exec') return await (await import('./exec/exec-command.js')).execCommand(rest.slice(1), io, logger);
    if (cmd === 'fleeting') return await (await import('./commands/fleeting.js')).fleetingCommand(rest.slice(1), io);
    if (cmd !== undefined && !['--help', '-h', 'help'].includes(cmd)) {
      const service = await import('./commands/service.js');
      if ((service.SERVICE_COMMANDS as readonly string[]).includes(cmd)) return await service.serviceCommand(cmd, rest.slice(1), io);
    }
    if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
      io.out(USAGE);
      return cmd === undefined ? 2 : 0;
    }
    io.err(`runner: unknown command ${[cmd, sub].filter(Boolean).join(' ')}\n\n${USAGE}`);
    return 2;
  } catch (err) {
    io.err(`runner: ${toRunnerError(err).message}`);
    return 1;
  }
}
