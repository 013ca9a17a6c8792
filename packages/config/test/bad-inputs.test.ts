import t from 'tap';
import { VM_ISOLATION_NOTE, formatDiagnostic, parseConfig } from '../src/index.js';

// Lines 1-10 of every case; extra lines start at line 11, inside [runners.autoscaler] unless they open a table.
const BASE = [
  'concurrent = 2',
  '[[runners]]',
  'name = "r"',
  'url = "https://gitlab.example.com"',
  'token = "glrt-abc"',
  'executor = "instance"',
  '[runners.autoscaler]',
  'plugin = "aws"',
  'capacity_per_instance = 1',
  'max_instances = 2',
];

interface Case {
  name: string;
  /** Appended to BASE from line 11. */
  extra?: string[];
  /** Replaces BASE lines: [1-based line, new text or null to delete]. */
  replace?: Array<[number, string | null]>;
  env?: Record<string, string>;
  /** Every error and warning, formatted, in line order. */
  want: string[];
}

function build(c: Case): string {
  const lines: Array<string | null> = [...BASE];
  for (const [n, text] of c.replace ?? []) lines[n - 1] = text;
  return [...lines.map((l) => l ?? '# removed'), ...(c.extra ?? [])].join('\n');
}

function diagnostics(c: Case): string[] {
  const r = parseConfig(build(c), { file: 'config.toml', dir: '/etc/fleetrunner', env: c.env ?? {} });
  return [...r.errors, ...r.warnings].sort((a, b) => a.line - b.line || (a.column ?? 0) - (b.column ?? 0)).map(formatDiagnostic);
}

const cases: Case[] = [
  { name: 'the base config is clean', want: [] },
  // wrong types
  { name: 'string for an integer', extra: ['max_use_count = "1"'], want: ['config.toml:11: runners[0].autoscaler.max_use_count: expected an integer, got string "1"'] },
  { name: 'float for an integer', extra: ['max_use_count = 1.5'], want: ['config.toml:11: runners[0].autoscaler.max_use_count: expected an integer, got float 1.5'] },
  { name: 'string for a boolean', extra: ['delete_instances_on_shutdown = "yes"'], want: ['config.toml:11: runners[0].autoscaler.delete_instances_on_shutdown: expected a boolean (true or false), got string "yes"'] },
  { name: 'integer for a string', replace: [[8, 'plugin = 42']], want: ['config.toml:8: runners[0].autoscaler.plugin: expected a string, got integer 42', 'config.toml:8: runners[0].autoscaler.plugin: required: the fleeting plugin, e.g. "aws", "googlecloud:latest" or "fleeting-plugin-aws"'] },
  { name: 'scalar for a table', extra: ['connector_config = "ssh"'], want: ['config.toml:11: runners[0].autoscaler.connector_config: expected a table, got string "ssh"'] },
  { name: 'table for [[runners]]', replace: [[2, '[runners]'], [3, null], [4, null], [5, null], [6, null], [7, '[runners.autoscaler]']], want: ['config.toml:2: runners: expected an array of tables, got table', 'config.toml:1: warning: runners: no [[runners]] entries; nothing will request jobs'].sort(byLine) },
  { name: 'non-string in an array', extra: ['[runners.instance]', 'allowed_images = ["macos-*", 7]'], want: ['config.toml:12: runners[0].instance.allowed_images[1]: expected a string, got integer 7', 'config.toml:12: warning: runners[0].instance.allowed_images: only checked when vm_isolation is enabled'] },
  { name: 'array of tables with a string in it', extra: ['policy = [{ idle_count = 1 }, "x"]'], want: ['config.toml:11: runners[0].autoscaler.policy[1]: expected a table, got string "x"'] },
  { name: 'feature flag not a boolean', extra: ['[runners.feature_flags]', 'FF_TIMESTAMPS = "true"'], want: ['config.toml:12: runners[0].feature_flags.FF_TIMESTAMPS: expected a boolean, got string "true"'] },
  // negative and out-of-range numbers
  { name: 'concurrent 0', replace: [[1, 'concurrent = 0']], want: ['config.toml:1: concurrent: must be ≥ 1, got 0'] },
  { name: 'negative max_instances', replace: [[10, 'max_instances = -1']], want: ['config.toml:10: runners[0].autoscaler.max_instances: must be ≥ 0, got -1'] },
  { name: 'capacity_per_instance 0', replace: [[9, 'capacity_per_instance = 0']], want: ['config.toml:9: runners[0].autoscaler.capacity_per_instance: must be ≥ 1, got 0'] },
  { name: 'negative max_use_count', extra: ['max_use_count = -3'], want: ['config.toml:11: runners[0].autoscaler.max_use_count: must be ≥ 0, got -3'] },
  { name: 'port out of range', extra: ['[runners.autoscaler.connector_config]', 'protocol_port = 70000'], want: ['config.toml:12: runners[0].autoscaler.connector_config.protocol_port: must be ≤ 65535, got 70000'] },
  { name: 'negative idle_count', extra: ['[[runners.autoscaler.policy]]', 'idle_count = -1'], want: ['config.toml:12: runners[0].autoscaler.policy[0].idle_count: must be ≥ 0, got -1'] },
  { name: 'scale_throttle limit below -1', extra: ['[runners.autoscaler.scale_throttle]', 'limit = -2'], want: ['config.toml:12: runners[0].autoscaler.scale_throttle.limit: must be ≥ -1, got -2'] },
  // durations
  { name: 'duration without unit', extra: ['update_interval = "15"'], want: ['config.toml:11: runners[0].autoscaler.update_interval: invalid duration "15": missing unit (one of ns, us, ms, s, m, h)'] },
  { name: 'duration with unknown unit', extra: ['[[runners.autoscaler.policy]]', 'idle_time = "2d"'], want: ['config.toml:12: runners[0].autoscaler.policy[0].idle_time: invalid duration "2d": unknown unit "d" (expected ns, us, ms, s, m or h)'] },
  { name: 'negative duration', extra: ['update_interval = "-1s"'], want: ['config.toml:11: runners[0].autoscaler.update_interval: must be ≥ 0s, got -1s'] },
  { name: 'boolean for a duration', extra: ['[runners.autoscaler.connector_config]', 'timeout = true'], want: ['config.toml:12: runners[0].autoscaler.connector_config.timeout: expected a duration string such as "90s", "15m" or "1h30m", got boolean true'] },
  { name: 'bare integer duration is nanoseconds', extra: ['update_interval = 30'], want: ['config.toml:11: warning: runners[0].autoscaler.update_interval: bare integer 30 is read as nanoseconds (30ns); write a duration string such as "30s"'] },
  // cron and time zones
  { name: 'cron with four fields', extra: ['[[runners.autoscaler.policy]]', 'periods = [', '  "* * * * *",', '  "* 8-15 * *",', ']'], want: ['config.toml:14: runners[0].autoscaler.policy[0].periods[1]: invalid cron period "* 8-15 * *": expected 5 fields (minute hour day-of-month month day-of-week), got 4'] },
  { name: 'cron value out of range', extra: ['[[runners.autoscaler.policy]]', 'idle_count = 1', '[[runners.autoscaler.policy]]', 'periods = ["* 25 * * *"]'], want: ['config.toml:14: runners[0].autoscaler.policy[1].periods[0]: invalid cron period "* 25 * * *": hour 25 is out of range 0-23'] },
  { name: 'unknown time zone', extra: ['[[runners.autoscaler.policy]]', 'timezone = "Mars/Olympus"'], want: ['config.toml:12: runners[0].autoscaler.policy[0].timezone: expected an IANA time zone such as "Europe/Berlin" or "UTC", got "Mars/Olympus"'] },
  // unknown keys are warnings
  { name: 'unknown key with a suggestion', extra: ['max_instance = 3'], want: ['config.toml:11: warning: runners[0].autoscaler.max_instance: unknown key in [runners.autoscaler], ignored (did you mean max_instances?)'] },
  { name: 'unknown top-level key', replace: [[1, 'concurent = 2']], want: ['config.toml:1: warning: concurent: unknown key at the top level, ignored (did you mean concurrent?)'] },
  { name: 'unknown key without a close match', extra: ['[runners.autoscaler.state_storage]', 'wibble = 1'], want: ['config.toml:12: warning: runners[0].autoscaler.state_storage.wibble: unknown key in [runners.autoscaler.state_storage], ignored'] },
  { name: 'another executor section', extra: ['[runners.docker]', 'image = "alpine"'], want: ['config.toml:11: warning: runners[0].docker: [runners.docker] configures another executor; ignored'] },
  { name: 'key in another case', extra: ['[[runners.autoscaler.policy]]', 'IDLE_COUNT = 2'], want: ['config.toml:12: warning: runners[0].autoscaler.policy[0].IDLE_COUNT: key matched idle_count case-insensitively; write idle_count'] },
  { name: 'unknown feature flag', extra: ['[runners.feature_flags]', 'FF_NOT_A_FLAG = true'], want: ['config.toml:12: warning: runners[0].feature_flags.FF_NOT_A_FLAG: unknown feature flag, ignored'] },
  // TOML syntax errors
  { name: 'missing value', extra: ['max_use_count ='], want: ['config.toml:11:16: TOML syntax error: expected a value, found end of file'] },
  { name: 'duplicate key', extra: ['plugin = "gcp"'], want: ['config.toml:11:1: TOML syntax error: duplicate key runners.autoscaler.plugin'] },
  { name: 'unclosed string', replace: [[3, 'name = "r']], want: ['config.toml:3:10: TOML syntax error: unterminated string: expected the closing quote, found end of line'] },
  { name: 'integer beyond 64 bits', extra: ['max_use_count = 9223372036854775808'], want: ['config.toml:11:17: TOML syntax error: integer 9223372036854775808 does not fit in 64 bits (expected -9223372036854775808 to 9223372036854775807)'] },
  { name: 'sub-table defined twice', extra: ['[runners.autoscaler]'], want: ['config.toml:11:1: TOML syntax error: cannot define [runners.autoscaler]: runners.autoscaler is already a table defined above'] },
  // cross-field rules
  {
    name: 'another executor (skipped with one warning)',
    replace: [[6, 'executor = "docker"']],
    extra: ['[runners.docker]', 'image = "alpine"'],
    want: [
      'config.toml:1: warning: runners: no [[runners]] entry with executor = "instance"; nothing will request jobs',
      'config.toml:6: warning: runners[0].executor: the docker executor is not run here; this runner is skipped and takes no jobs (only "instance" runners run)',
    ],
  },
  {
    name: 'unknown executor',
    replace: [[6, 'executor = "instanse"']],
    want: ['config.toml:6: runners[0].executor: unknown executor "instanse"; expected "instance" (or one of GitLab Runner\'s other executors, whose runners are skipped: shell, docker, docker-windows, docker+machine, docker-autoscaler, kubernetes, custom, parallels, virtualbox, ssh)'],
  },
  { name: 'no executor', replace: [[6, null]], want: ['config.toml:2: runners[0].executor: required: expected "instance"'] },
  { name: 'instance executor without autoscaler', replace: [[7, null], [8, null], [9, null], [10, null]], want: ['config.toml:2: runners[0].autoscaler: required: the instance executor needs a [runners.autoscaler] section with a plugin'] },
  { name: 'autoscaler without plugin', replace: [[8, null]], want: ['config.toml:7: runners[0].autoscaler.plugin: required: the fleeting plugin, e.g. "aws", "googlecloud:latest" or "fleeting-plugin-aws"'] },
  { name: 'capacity not set', replace: [[9, null]], want: ['config.toml:7: warning: runners[0].autoscaler.capacity_per_instance: not set; using 1 job per instance'] },
  { name: 'idle_count above what max_instances allows', extra: ['[[runners.autoscaler.policy]]', 'idle_count = 3'], want: ['config.toml:12: warning: runners[0].autoscaler.policy[0].idle_count: 3 idle jobs cannot be reached: max_instances × capacity_per_instance = 2 × 1 = 2'] },
  {
    name: 'vm isolation without nesting host or VM user',
    extra: ['[runners.autoscaler.vm_isolation]', 'enabled = true'],
    want: [
      'config.toml:11: runners[0].autoscaler.vm_isolation.connector_config.username: required when vm_isolation is enabled: the login user of the nested VMs (the nesting daemon reports only their address)',
      'config.toml:11: runners[0].autoscaler.vm_isolation.nesting_host: required when vm_isolation is enabled: the nesting daemon\'s socket on the instance, e.g. "unix:///Users/ec2-user/Library/Application Support/nesting.sock"',
      `config.toml:12: warning: runners[0].autoscaler.vm_isolation.enabled: ${VM_ISOLATION_NOTE}`,
    ],
  },
  {
    name: 'vm isolation with a TCP nesting host',
    extra: ['[runners.autoscaler.vm_isolation]', 'enabled = true', 'nesting_host = "10.0.0.1:8080"', '[runners.autoscaler.vm_isolation.connector_config]', 'username = "vm"'],
    want: [
      `config.toml:12: warning: runners[0].autoscaler.vm_isolation.enabled: ${VM_ISOLATION_NOTE}`,
      'config.toml:13: runners[0].autoscaler.vm_isolation.nesting_host: expected a unix socket on the instance ("unix:///path/to/nesting.sock" or an absolute path), got "10.0.0.1:8080"',
    ],
  },
  { name: 'common build dir without isolation', extra: ['[runners.instance]', 'use_common_build_dir = true'], want: ['config.toml:12: warning: runners[0].instance.use_common_build_dir: only honoured with vm_isolation enabled or max_use_count = 1; ignored'] },
  { name: 'missing url and token', replace: [[4, null], [5, null]], want: ['config.toml:2: runners[0].token: required: the runner authentication token (glrt-…)', 'config.toml:2: runners[0].url: required: the GitLab URL, e.g. "https://gitlab.com"'] },
  { name: 'url that is not http', replace: [[4, 'url = "ftp://gitlab.example.com"']], want: ['config.toml:4: runners[0].url: expected an http or https URL, got scheme "ftp"'] },
  { name: 'legacy /ci suffix', replace: [[4, 'url = "https://gitlab.example.com/ci"']], want: ['config.toml:4: warning: runners[0].url: the legacy "/ci" suffix is stripped; write the GitLab base URL'] },
  { name: 'listen address with too many colons', replace: [[1, 'listen_address = "::1"']], want: ['config.toml:1: listen_address: expected host:port, too many colons in "::1"; write an IPv6 host in brackets, e.g. "[::1]:9252"'] },
  { name: 'listen address with a bad port', replace: [[1, 'listen_address = "localhost:http"']], want: ['config.toml:1: listen_address: expected host:port, expected a port number 0-65535, got "http"'] },
  { name: 'log level', replace: [[1, 'log_level = "verbose"']], want: ['config.toml:1: log_level: expected one of "debug", "info", "warn", "warning", "error", "fatal", "panic", got "verbose"'] },
  { name: 'connector protocol', extra: ['[runners.autoscaler.connector_config]', 'protocol = "telnet"'], want: ['config.toml:12: runners[0].autoscaler.connector_config.protocol: expected one of "ssh", "winrm", "winrm+https", got "telnet"'] },
  { name: 'environment entry without =', replace: [[3, 'environment = ["A=1", "B"]']], want: ['config.toml:3: warning: runners[0].environment[1]: expected KEY=VALUE, got "B"; dropped'] },
  { name: 'unset variable in the token', replace: [[5, 'token = "$RUNNER_TOKEN"']], want: ['config.toml:5: runners[0].token: required: the runner authentication token (glrt-…)', 'config.toml:5: warning: runners[0].token: environment variable RUNNER_TOKEN is not set; it expands to ""'] },
  { name: 'two entries for one runner', extra: ['[[runners]]', 'url = "https://gitlab.example.com"', 'token = "glrt-abc"', 'executor = "instance"', '[runners.autoscaler]', 'plugin = "aws"', 'capacity_per_instance = 1'], want: ['config.toml:11: warning: runners[1]: same GitLab URL and token as runners[0]; both would share one autoscaler'] },
];

function byLine(a: string, b: string): number {
  const line = (s: string): number => Number(/^config\.toml:(\d+)/.exec(s)?.[1] ?? 0);
  return line(a) - line(b);
}

for (const c of cases) {
  t.test(c.name, async (t) => {
    t.same(diagnostics(c), c.want);
  });
}

t.test('$VAR and ${VAR} in url and token come from the injected env', async (t) => {
  const c: Case = { name: 'env', replace: [[4, 'url = "https://$GITLAB_HOST"'], [5, 'token = "${RUNNER_TOKEN}"']], want: [] };
  const r = parseConfig(build(c), { file: 'config.toml', env: { GITLAB_HOST: 'gitlab.example.com', RUNNER_TOKEN: 'glrt-from-env' } });
  t.same([...r.errors, ...r.warnings], []);
  t.equal(r.config?.runners[0]?.url, 'https://gitlab.example.com');
  t.equal(r.config?.runners[0]?.token, 'glrt-from-env');
  const other = parseConfig(build({ ...c, replace: [[3, 'name = "$RUNNER_TOKEN"']] }), { file: 'config.toml', env: { RUNNER_TOKEN: 'x' } });
  t.equal(other.config?.runners[0]?.name, '$RUNNER_TOKEN', 'only url and token are expanded');
});
