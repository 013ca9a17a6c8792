/** What goes into the systemd unit that runs the manager (`runner install` writes it). */
export interface UnitOptions {
  /** Service name (`gitlab-runner` by default, as GitLab Runner's). */
  name: string;
  description: string;
  /** The program systemd starts (node), and the arguments before `run` (the runner script). */
  executable: string;
  prefixArgs: readonly string[];
  /** Arguments of `run`: `--config`, `--working-directory`, `--service`, `--user`, `--syslog`. */
  runArgs: readonly string[];
  /** `User=` (`--init-user`). */
  user?: string;
  /** `SIGQUIT` makes `systemctl stop` drain (running jobs finish); default SIGTERM: jobs are aborted within shutdown_timeout. */
  stopSignal: 'SIGTERM' | 'SIGQUIT';
  /** A user unit (`--user-service`) is wanted by default.target, a system unit by multi-user.target. */
  userService: boolean;
}

/**
 * One word of an `ExecStart=` line: double-quoted, with `\` and `"` escaped, `$` and `%` doubled (systemd would
 * expand them: environment variables and specifiers).
 */
export function systemdWord(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`).replace(/\$/g, '$$$$').replace(/%/g, '%%').replace(/\n/g, '\\n')}"`;
}

/** A path in a setting that takes one unquoted path (`ConditionFileIsExecutable=`): specifiers escaped. */
function systemdPath(s: string): string {
  if (/[\s"'\\]/.test(s)) throw new Error(`path ${JSON.stringify(s)}: systemd settings cannot take spaces, quotes or backslashes here`);
  return s.replace(/%/g, '%%');
}

/**
 * The unit text, laid out as GitLab Runner's (`After=network.target`, `StartLimitBurst=10`, `Restart=always`,
 * `RestartSec=120`, `EnvironmentFile=-/etc/sysconfig/<name>`), plus `ExecReload` (SIGHUP reloads the config) and,
 * for a draining stop, `KillSignal=SIGQUIT` with `KillMode=mixed` (only the manager gets SIGQUIT; it stops its
 * plugins itself) and no stop timeout — what GitLab's docs tell users to add as a drop-in.
 */
export function systemdUnit(o: UnitOptions): string {
  const exec = [o.executable, ...o.prefixArgs, 'run', ...o.runArgs].map(systemdWord).join(' ');
  const service = [
    'StartLimitInterval=5',
    'StartLimitBurst=10',
    `ExecStart=${exec}`,
    'ExecReload=/bin/kill -HUP $MAINPID',
    ...(o.user ? [`User=${o.user}`] : []),
    'Restart=always',
    'RestartSec=120',
    `EnvironmentFile=-/etc/sysconfig/${o.name}`,
    ...(o.stopSignal === 'SIGQUIT' ? ['KillSignal=SIGQUIT', 'KillMode=mixed', 'TimeoutStopSec=infinity'] : []),
  ];
  return [
    '[Unit]',
    `Description=${o.description}`,
    `ConditionFileIsExecutable=${systemdPath(o.executable)}`,
    'After=network.target',
    '',
    '[Service]',
    ...service,
    '',
    '[Install]',
    `WantedBy=${o.userService ? 'default.target' : 'multi-user.target'}`,
    '',
  ].join('\n');
}
