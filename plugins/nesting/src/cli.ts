import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { RunnerError, createLogger, textSink } from '@fleetrunner/common';
import { connect, defaultSocketPath, serve, type Hypervisor, type NestingClient } from '@fleetrunner/nesting';
import type { ConfigSource } from './config.js';
import { QemuHypervisor, defaultStateDir } from './qemu.js';
import { TartHypervisor } from './tart.js';

/** This binary's version, from its package.json. */
export const VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const USAGE = `usage: nesting <command> [flags]

commands:
  serve [-config FILE] [-hypervisor qemu|tart] [-socket PATH]   run the daemon
  init [-config FILE] [-socket PATH]                            send Init with FILE's JSON (default {})
  shutdown [-socket PATH]                                       delete every VM, forget the configuration
  create [-slot N] [-socket PATH] IMAGE                         create a VM; prints id, image and address
  delete [-socket PATH] ID                                      delete a VM
  list [-socket PATH]                                           list VMs: id, image, address
  version                                                       print the version

-socket defaults to $NESTING_SOCKET, else ${defaultSocketPath()}
`;

interface Io {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  env: NodeJS.ProcessEnv;
}

class UsageError extends Error {}

/** Go flag-style parsing: `-name value`, `-name=value`, `--name value`; the rest are positional. */
function parseFlags(args: string[], known: readonly string[]): { flags: Map<string, string>; rest: string[] } {
  const flags = new Map<string, string>();
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      rest.push(...args.slice(i + 1));
      break;
    }
    const m = /^--?([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m) {
      rest.push(a);
      continue;
    }
    const name = m[1]!;
    if (!known.includes(name)) throw new UsageError(`unknown flag -${name}`);
    let value = m[2];
    if (value === undefined) {
      value = args[++i];
      if (value === undefined) throw new UsageError(`flag -${name} needs a value`);
    }
    flags.set(name, value);
  }
  return { flags, rest };
}

async function readConfigFile(path: string): Promise<ConfigSource> {
  const file = resolve(path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new RunnerError('invalid_argument', `config file ${file}: ${(err as Error).message}`);
  }
  let values: unknown;
  try {
    values = JSON.parse(text);
  } catch (err) {
    throw new RunnerError('invalid_argument', `config file ${file}: expected JSON: ${(err as Error).message}`);
  }
  if (typeof values !== 'object' || values === null || Array.isArray(values)) throw new RunnerError('invalid_argument', `config file ${file}: expected a JSON object`);
  return { where: `config file ${file}`, values: values as Record<string, unknown> };
}

function socketOf(flags: Map<string, string>, env: NodeJS.ProcessEnv): string {
  return resolve(flags.get('socket') ?? env['NESTING_SOCKET'] ?? defaultSocketPath(env));
}

async function serveCommand(args: string[], io: Io): Promise<number> {
  const { flags, rest } = parseFlags(args, ['config', 'hypervisor', 'socket', 'log-level']);
  if (rest.length > 0) throw new UsageError(`serve takes no arguments, got ${JSON.stringify(rest[0])}`);
  const level = flags.get('log-level') ?? 'info';
  if (!['debug', 'info', 'warn', 'error'].includes(level)) throw new UsageError(`-log-level: expected debug, info, warn or error, got ${JSON.stringify(level)}`);
  const logger = createLogger({ level: level as 'info', sink: textSink(io.stderr) });
  const serveConfig = flags.has('config') ? await readConfigFile(flags.get('config')!) : undefined;
  const name = flags.get('hypervisor') ?? (process.platform === 'darwin' ? 'tart' : 'qemu');
  let hypervisor: Hypervisor;
  if (name === 'qemu') {
    if (process.platform !== 'linux') throw new RunnerError('unsupported', `-hypervisor qemu: runs on Linux hosts only (this is ${process.platform})`);
    const stateDirValue = serveConfig?.values['state_dir'];
    if (stateDirValue !== undefined && (typeof stateDirValue !== 'string' || stateDirValue === '')) {
      throw new RunnerError('invalid_argument', `${serveConfig!.where}: state_dir: expected a non-empty string, got ${JSON.stringify(stateDirValue)}`);
    }
    const stateDir = resolve((stateDirValue as string | undefined) ?? defaultStateDir(io.env));
    const qemu = new QemuHypervisor({ stateDir, logger, env: io.env, ...(serveConfig ? { serveConfig } : {}) });
    await qemu.reapLeftovers();
    // Check the serve config now rather than at the first Init.
    if (serveConfig) await qemu.init({}).then(() => qemu.shutdown());
    hypervisor = qemu;
  } else if (name === 'tart') {
    hypervisor = new TartHypervisor({ logger, ...(serveConfig ? { serveConfig } : {}) });
  } else {
    throw new UsageError(`-hypervisor: expected qemu or tart, got ${JSON.stringify(name)}`);
  }
  const socketPath = socketOf(flags, io.env);
  const server = await serve(socketPath, hypervisor, { logger });
  io.stdout.write(`nesting ${VERSION}: serving ${name} on ${socketPath}\n`);
  await new Promise<void>((resolveStop) => {
    const stop = (sig: NodeJS.Signals): void => {
      logger.info('stopping', { signal: sig });
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolveStop();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  await server.close();
  return 0;
}

async function withClient<T>(flags: Map<string, string>, io: Io, fn: (c: NestingClient) => Promise<T>): Promise<T> {
  const client = await connect(socketOf(flags, io.env));
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

/** Runs the command line `args`; resolves with the exit code (2 for usage errors). */
export async function run(args: string[], io: Io): Promise<number> {
  const [command, ...rest] = args;
  try {
    switch (command) {
      case 'serve':
        return await serveCommand(rest, io);
      case 'init': {
        const { flags, rest: pos } = parseFlags(rest, ['config', 'socket']);
        if (pos.length > 0) throw new UsageError(`init takes no arguments, got ${JSON.stringify(pos[0])}`);
        const config = flags.has('config') ? (await readConfigFile(flags.get('config')!)).values : {};
        await withClient(flags, io, (c) => c.init(config));
        return 0;
      }
      case 'shutdown': {
        const { flags, rest: pos } = parseFlags(rest, ['socket']);
        if (pos.length > 0) throw new UsageError(`shutdown takes no arguments, got ${JSON.stringify(pos[0])}`);
        await withClient(flags, io, (c) => c.shutdown());
        return 0;
      }
      case 'create': {
        const { flags, rest: pos } = parseFlags(rest, ['slot', 'socket']);
        if (pos.length !== 1) throw new UsageError('create takes one argument: the image');
        let slot: number | undefined;
        if (flags.has('slot')) {
          slot = Number(flags.get('slot'));
          if (!/^-?\d+$/.test(flags.get('slot')!)) throw new UsageError(`-slot: expected an integer, got ${JSON.stringify(flags.get('slot'))}`);
        }
        const res = await withClient(flags, io, (c) => c.create(pos[0]!, slot));
        io.stdout.write(`${res.vm.id}\t${res.vm.name}\t${res.vm.addr}\n`);
        if (res.stompedVmId) io.stderr.write(`nesting: replaced VM ${res.stompedVmId} in slot ${slot}\n`);
        return 0;
      }
      case 'delete': {
        const { flags, rest: pos } = parseFlags(rest, ['socket']);
        if (pos.length !== 1) throw new UsageError('delete takes one argument: the VM id');
        await withClient(flags, io, (c) => c.delete(pos[0]!));
        return 0;
      }
      case 'list': {
        const { flags, rest: pos } = parseFlags(rest, ['socket']);
        if (pos.length > 0) throw new UsageError(`list takes no arguments, got ${JSON.stringify(pos[0])}`);
        const vms = await withClient(flags, io, (c) => c.list());
        for (const vm of vms) io.stdout.write(`${vm.id}\t${vm.name}\t${vm.addr}\n`);
        return 0;
      }
      case 'version':
      case '-version':
      case '--version':
        io.stdout.write(`nesting ${VERSION}\n`);
        return 0;
      case undefined:
      case 'help':
      case '-h':
      case '--help':
        io.stdout.write(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`nesting: ${err.message}\n${USAGE}`);
      return 2;
    }
    io.stderr.write(`nesting: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
