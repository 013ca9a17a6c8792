import { createLogger, isLogLevel, toRunnerError, type LogLevel } from '@fleetrunner/common';
import { configValidate } from './commands/config-validate.js';
import { listCommand } from './commands/list.js';
import { registerCommand } from './commands/register.js';
import { runCommand } from './commands/run.js';
import { verifyCommand } from './commands/verify.js';
import { execCommand } from './exec/exec-command.js';
import { fleetingCommand } from './commands/fleeting.js';
import { fleetingConformance } from './commands/fleeting-conformance.js';
import { processOutput, type Output } from './output.js';
import { versionBlock } from './version.js';

const USAGE = `Usage: runner <command> [options]

Commands:
  run [--config F]                the manager: take jobs from GitLab, run them on autoscaled instances
  register --url U --token T      add a [[runners]] entry to the config (the token is verified first)
  verify [--config F] [--delete]  check every runner's token with GitLab
  list [--config F]               the runners of a config file
  exec [--config F] [JOB…]        run a .gitlab-ci.yml's jobs on autoscaled instances (default: local plugin)
  config validate [--config F]    check a config.toml (errors and warnings with file, line and key path)
  fleeting conformance <plugin>   run the fleeting conformance suite against a plugin binary ("local" = embedded)
  fleeting install|list|login|package|publish|bundle   fleeting plugins from OCI registries
  --version                       print version information

Global: --log-level trace|debug|info|warn|error (default warn for one-shot commands)`;

/** Splits `--log-level X` off the arguments. */
function takeLogLevel(argv: string[]): { level: LogLevel; rest: string[] } {
  const rest: string[] = [];
  let level: LogLevel = 'warn';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = a === '--log-level' ? argv[++i] : a.startsWith('--log-level=') ? a.slice(12) : undefined;
    if (v === undefined) {
      rest.push(a);
      continue;
    }
    if (!isLogLevel(v)) throw new Error(`--log-level: expected trace, debug, info, warn or error, got ${v}`);
    level = v;
  }
  return { level, rest };
}

/** Entry point of the `runner` command; returns the process exit code (the bin script sets it). */
export async function main(argv: string[], io: Output = processOutput): Promise<number> {
  try {
    const { level, rest } = takeLogLevel(argv);
    const logger = createLogger({ level });
    const [cmd, sub, ...args] = rest;
    if (cmd === '--version' || cmd === '-v' || cmd === 'version') {
      io.out(versionBlock());
      return 0;
    }
    if (cmd === 'fleeting' && sub === 'conformance') return await fleetingConformance(args, io, logger);
    if (cmd === 'config' && sub === 'validate') return await configValidate(args, io);
    if (cmd === 'run') return await runCommand(argv, io);
    if (cmd === 'register') return await registerCommand(rest.slice(1), io);
    if (cmd === 'verify') return await verifyCommand(rest.slice(1), io);
    if (cmd === 'list') return await listCommand(rest.slice(1), io);
    if (cmd === 'exec') return await execCommand(rest.slice(1), io, logger);
    if (cmd === 'fleeting') return await fleetingCommand(sub, args, io);
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
