import { readFileSync } from 'node:fs';
import { createLogger, isLogLevel, textSink, type LogLevel, type Logger } from '@fleetrunner/common';
import type { ThrottleRule } from './faults.js';

/** The options every stand-in takes, whatever its cloud. */
export interface StandinCommonOptions {
  host?: string;
  port?: number;
  sshPort?: number;
  subnet?: string;
  publicSubnet?: string;
  machineSubnet?: string;
  machineMode?: 'ssh2' | 'sshd';
  stateDir?: string;
  throttle?: ThrottleRule[];
}

/** The `parseArgs` options of the flags every stand-in takes; a stand-in spreads its own next to them. */
export const STANDIN_FLAGS = {
  config: { type: 'string' },
  group: { type: 'string', multiple: true },
  host: { type: 'string' },
  port: { type: 'string' },
  'ssh-port': { type: 'string' },
  subnet: { type: 'string' },
  'public-subnet': { type: 'string' },
  'machine-subnet': { type: 'string' },
  'machine-mode': { type: 'string' },
  'state-dir': { type: 'string' },
  throttle: { type: 'string', multiple: true },
  'log-level': { type: 'string', default: 'info' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The values `parseArgs` gives for {@link STANDIN_FLAGS}. */
export interface StandinFlagValues {
  host?: string | undefined;
  port?: string | undefined;
  'ssh-port'?: string | undefined;
  subnet?: string | undefined;
  'public-subnet'?: string | undefined;
  'machine-subnet'?: string | undefined;
  'machine-mode'?: string | undefined;
  'state-dir'?: string | undefined;
  throttle?: string[] | undefined;
  'log-level'?: string | undefined;
  help?: boolean | undefined;
}

/** How a stand-in's `--throttle` names the calls it picks (`actions`, `methods`, `operations`) and which statuses it answers with. */
export interface ThrottleFlag {
  selector: string;
  /** Statuses `status=` accepts; none: neither `status=` nor `retry-after=` is accepted. */
  statuses?: readonly string[];
}

/** A non-negative integer flag value, else an error naming `what`. */
export function intOf(value: string, what: string): number {
  if (!/^\d+$/.test(value)) throw new Error(`${what}: expected a non-negative integer, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** The options in the JSON file of `--config`. */
export function readOptionsFile<T>(path: string): T {
  const v = JSON.parse(readFileSync(path, 'utf8')) as unknown;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${path}: expected a JSON object`);
  return v as T;
}

/** One `--throttle` value: `count=N` or `every=N`, `<selector>=A+B`, and where the cloud has them `status=` and `retry-after=`. */
export function throttleOf(spec: string, flag: ThrottleFlag): ThrottleRule {
  const rule: ThrottleRule = {};
  const statuses = flag.statuses ?? [];
  for (const part of spec.split(',')) {
    const [k, v = ''] = part.split('=', 2) as [string, string?];
    if (k === 'count') rule.count = intOf(v, '--throttle count');
    else if (k === 'every') rule.every = intOf(v, '--throttle every');
    else if (k === flag.selector) rule.actions = v.split('+').filter(Boolean);
    else if (k === 'status' && statuses.includes(v)) rule.status = Number(v);
    else if (k === 'retry-after' && statuses.length > 0) rule.retryAfterSeconds = intOf(v, '--throttle retry-after');
    else throw new Error(`--throttle: unknown setting ${JSON.stringify(part)}`);
  }
  return rule;
}

/** Applies the common flags over `o` (flags override the config file); returns the parsed command line. */
export function standinFlags<O extends StandinCommonOptions>(values: StandinFlagValues, o: O, throttle: ThrottleFlag): { options: O; logLevel: LogLevel; help: boolean } {
  if (values.host) o.host = values.host;
  if (values.port) o.port = intOf(values.port, '--port');
  if (values['ssh-port']) o.sshPort = intOf(values['ssh-port'], '--ssh-port');
  if (values.subnet) o.subnet = values.subnet;
  if (values['public-subnet']) o.publicSubnet = values['public-subnet'];
  if (values['machine-subnet']) o.machineSubnet = values['machine-subnet'];
  if (values['machine-mode']) {
    const m = values['machine-mode'];
    if (m !== 'ssh2' && m !== 'sshd') throw new Error(`--machine-mode: expected ssh2 or sshd, got ${JSON.stringify(m)}`);
    o.machineMode = m;
  }
  if (values['state-dir']) o.stateDir = values['state-dir'];
  if (values.throttle) o.throttle = [...(o.throttle ?? []), ...values.throttle.map((s) => throttleOf(s, throttle))];
  const level = values['log-level'] ?? 'info';
  if (!isLogLevel(level)) throw new Error(`--log-level: expected trace, debug, info, warn or error, got ${JSON.stringify(level)}`);
  return { options: o, logLevel: level, help: values.help ?? false };
}

/** What {@link runStandinBinary} runs. */
export interface StandinBinary<O, S extends { endpoint: string; env?: Record<string, string>; stop(): Promise<void> }> {
  /** `aws-standin`: the prefix of its messages. */
  name: string;
  usage: string;
  parse(argv: readonly string[]): { options: O; logLevel: LogLevel; help: boolean };
  start(options: O & { logger: Logger }): Promise<S>;
}

/**
 * A stand-in binary: parses the command line (usage and exit 2 on a bad one), starts the stand-in, prints
 * `endpoint=<url>` and an `export NAME=VALUE` line (shell-quoted: eval-able as they are) for each variable of its
 * `env`, serves until SIGINT/SIGTERM, then stops it (every instance removed).
 */
export async function runStandinBinary<O, S extends { endpoint: string; env?: Record<string, string>; stop(): Promise<void> }>(binary: StandinBinary<O, S>): Promise<void> {
  const fail = (what: string, err: unknown, code: number, tail = ''): never => {
    process.stderr.write(`${binary.name}: ${what}${err instanceof Error ? err.message : String(err)}\n${tail}`);
    process.exit(code);
  };
  let parsed: ReturnType<StandinBinary<O, S>['parse']>;
  try {
    parsed = binary.parse(process.argv.slice(2));
  } catch (err) {
    return fail('', err, 2, `\n${binary.usage}`);
  }
  if (parsed.help) {
    process.stdout.write(binary.usage);
    process.exit(0);
  }
  const logger = createLogger({ level: parsed.logLevel, sink: textSink(process.stderr) });
  try {
    const standin = await binary.start({ ...parsed.options, logger });
    const quote = (v: string): string => `'${v.replace(/'/g, `'\\''`)}'`;
    process.stdout.write(`endpoint=${standin.endpoint}\n${Object.entries(standin.env ?? {}).map(([k, v]) => `export ${k}=${quote(v)}\n`).join('')}`);
    const stop = (): void => {
      standin.stop().then(
        () => process.exit(0),
        (err: unknown) => fail('stopping: ', err, 1),
      );
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  } catch (err) {
    fail('starting: ', err, 1);
  }
}
