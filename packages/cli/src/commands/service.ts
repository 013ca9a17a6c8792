import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { RunnerError, toRunnerError } from '@fleetrunner/common';
import { NEW_CONFIG_HEADER, readConfigText, writeConfigText } from '@fleetrunner/config';
import { defaultConfigPath } from '../config-path.js';
import type { Output } from '../output.js';
import { systemdUnit } from '@fleetrunner/manager';

const run = promisify(execFile);

export const SERVICE_COMMANDS = ['install', 'uninstall', 'start', 'stop', 'restart', 'status'] as const;
export type ServiceCommand = (typeof SERVICE_COMMANDS)[number];

export const usage = `Usage:
  runner install [--service NAME] [--user USER | --init-user USER] [--working-directory DIR] [--config FILE]
                 [--syslog] [--user-service] [--stop-signal SIGTERM|SIGQUIT] [--init-dir DIR]
  runner uninstall|start|stop|restart|status [--service NAME] [--user-service] [--init-dir DIR]

The systemd service (name "gitlab-runner" by default, as GitLab Runner's, so an existing unit's name, its drop-ins
and its scripts keep working). install writes <init dir>/<name>.service running "runner run --config FILE
--working-directory DIR --service NAME [--user USER]", then enables it (systemctl daemon-reload, enable); as root a
user is required (--user is passed to run; --init-user becomes User= of the unit).
Stopping: SIGTERM (the default, as GitLab Runner's unit) aborts running jobs within shutdown_timeout;
--stop-signal SIGQUIT writes KillSignal=SIGQUIT, KillMode=mixed, TimeoutStopSec=infinity: running jobs finish.
The init dir is /etc/systemd/system (~/.config/systemd/user with --user-service); --init-dir or
FLEETRUNNER_INIT_DIR writes elsewhere (then systemctl is not called).`;

/** The runner script and the program that runs it (node), for `ExecStart=`. */
function selfCommand(): { executable: string; prefixArgs: string[] } {
  const script = fileURLToPath(new URL('../../../bin/runner.js', import.meta.url));
  return { executable: process.execPath, prefixArgs: [script] };
}

/** Whether systemd manages this host (what the Go service library checks). */
function systemdRunning(): boolean {
  try {
    return statSync('/run/systemd/system').isDirectory();
  } catch {
    return false;
  }
}

async function systemctl(userService: boolean, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('systemctl', [...(userService ? ['--user'] : []), ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string; message?: string };
    if (e.code === 'ENOENT') throw new RunnerError('not_found', 'systemctl was not found: this host has no systemd');
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? e.message ?? '' };
  }
}

async function mustSystemctl(userService: boolean, ...args: string[]): Promise<void> {
  const r = await systemctl(userService, ...args);
  if (r.code !== 0) throw new RunnerError('internal', `systemctl ${args.join(' ')}: ${r.stderr.trim() || `exit ${r.code}`}`);
}

/** `runner install|uninstall|start|stop|restart|status`. */
export async function serviceCommand(cmd: string, args: string[], io: Output): Promise<number> {
  const install = cmd === 'install';
  const { values } = parseArgs({
    args,
    options: {
      service: { type: 'string', short: 'n', default: 'gitlab-runner' },
      'user-service': { type: 'boolean' },
      'init-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      ...(install
        ? {
            'working-directory': { type: 'string', short: 'd' },
            config: { type: 'string', short: 'c' },
            syslog: { type: 'boolean' },
            user: { type: 'string', short: 'u' },
            'init-user': { type: 'string', short: 'i' },
            'stop-signal': { type: 'string', default: 'SIGTERM' },
          }
        : {}),
    },
  }) as { values: Record<string, string | boolean | undefined> };
  if (values.help) {
    io.out(usage);
    return 0;
  }
  const name = values.service as string;
  if (!/^[A-Za-z0-9:_.@-]+$/.test(name)) throw new RunnerError('invalid_argument', `--service: expected a unit name (letters, digits, ":_.@-"), got ${JSON.stringify(name)}`);
  const userService = values['user-service'] === true;
  const customDir = (values['init-dir'] as string | undefined) ?? (process.env.FLEETRUNNER_INIT_DIR || undefined);
  const dir = customDir ?? (userService ? join(homedir(), '.config', 'systemd', 'user') : '/etc/systemd/system');
  const unitFile = join(dir, `${name}.service`);
  const manage = customDir === undefined;
  const unit = `${name}.service`;

  switch (cmd as ServiceCommand) {
    case 'install': {
      const user = values.user as string | undefined;
      const initUser = values['init-user'] as string | undefined;
      if (user && initUser) throw new RunnerError('invalid_argument', 'only one of --user and --init-user can be given');
      if (!user && !initUser && process.getuid?.() === 0) throw new RunnerError('invalid_argument', `please give the user that will run the ${name} service (--user or --init-user)`);
      const signal = values['stop-signal'] as string;
      if (signal !== 'SIGTERM' && signal !== 'SIGQUIT') throw new RunnerError('invalid_argument', `--stop-signal: expected SIGTERM or SIGQUIT, got ${JSON.stringify(signal)}`);
      const config = resolve((values.config as string | undefined) ?? (initUser ? join(homedirOf(initUser), 'config.toml') : defaultConfigPath()));
      const runArgs = ['--config', config];
      const wd = values['working-directory'] as string | undefined;
      if (wd) runArgs.push('--working-directory', resolve(wd));
      runArgs.push('--service', name);
      if (values.syslog === true) runArgs.push('--syslog');
      if (user) runArgs.push('--user', user);
      // A first install writes an empty config, as GitLab Runner's does.
      if ((await readConfigText(config)) === '') await writeConfigText(config, NEW_CONFIG_HEADER);
      const text = systemdUnit({
        name,
        description: 'GitLab Runner',
        ...selfCommand(),
        runArgs,
        ...(initUser ? { user: initUser } : {}),
        stopSignal: signal,
        userService,
      });
      await mkdir(dir, { recursive: true });
      await writeFile(unitFile, text, { mode: 0o644 });
      io.out(`Wrote ${unitFile}`);
      if (!manage) return 0;
      if (!systemdRunning()) {
        io.err(`systemd is not running on this host (no /run/systemd/system): enable the unit once it is (systemctl ${userService ? '--user ' : ''}enable ${unit})`);
        return 0;
      }
      await mustSystemctl(userService, 'daemon-reload');
      await mustSystemctl(userService, 'enable', unit);
      return 0;
    }
    case 'uninstall': {
      if (!existsSync(unitFile)) throw new RunnerError('not_found', `${unitFile}: the ${name} service is not installed`);
      if (manage && systemdRunning()) await mustSystemctl(userService, 'disable', unit);
      await rm(unitFile);
      io.out(`Removed ${unitFile}`);
      if (manage && systemdRunning()) await mustSystemctl(userService, 'daemon-reload');
      return 0;
    }
    case 'start':
    case 'stop':
    case 'restart':
    case 'status': {
      if (!existsSync(unitFile)) throw new RunnerError('not_found', `${unitFile}: the ${name} service is not installed (run "runner install" first)`);
      if (!manage) throw new RunnerError('invalid_argument', `${cmd}: systemctl is not called for a unit under --init-dir ${dir}`);
      if (!systemdRunning()) throw new RunnerError('unavailable', `${cmd}: systemd is not running on this host (no /run/systemd/system)`);
      if (cmd !== 'status') {
        await mustSystemctl(userService, cmd, unit);
        return 0;
      }
      const r = await systemctl(userService, 'is-active', unit);
      const state = r.stdout.trim();
      if (state === 'active') {
        io.out(`${name}: Service is running`);
        return 0;
      }
      io.err(`${name}: ${state === 'inactive' || state === 'failed' ? 'Service has stopped' : `Service status unknown (${state || r.stderr.trim()})`}`);
      return 1;
    }
    default:
      throw new RunnerError('invalid_argument', `unknown service command ${cmd}`);
  }
}

function homedirOf(user: string): string {
  try {
    const line = (process.platform === 'linux' ? readPasswd() : '').split('\n').find((l) => l.split(':')[0] === user);
    const home = line?.split(':')[5];
    if (home) return home;
  } catch (err) {
    throw new RunnerError('not_found', `--init-user ${user}: ${toRunnerError(err).message}`);
  }
  throw new RunnerError('not_found', `--init-user ${user}: no such user in /etc/passwd`);
}

function readPasswd(): string {
  return readFileSync('/etc/passwd', 'utf8');
}
