import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { RunnerError, formatGoDuration, linkSignals, nullLogger, type Logger } from '@fleetrunner/common';
import { deadlineExceeded, invalidArgument, notFound, type Hypervisor, type HypervisorInfo, type VirtualMachine } from '@fleetrunner/nesting';
import { ConfigReader, type ConfigSource } from './config.js';
import { waitForSsh } from './ssh-wait.js';

/** The settings of the tart hypervisor. */
export interface TartSettings {
  tartBinary: string;
  /** macOS allows two VMs per host. */
  slots: number;
  bootTimeoutMs: number;
  sshPort: number;
  /** Wait for the guest's SSH server after `tart ip` gave an address (default true). */
  waitForSsh: boolean;
}

export function tartSettings(sources: readonly ConfigSource[]): TartSettings {
  const r = new ConfigReader(sources);
  const settings: TartSettings = {
    tartBinary: r.string('tart_binary', 'tart'),
    slots: r.int('slots', 2, 1, 64),
    bootTimeoutMs: r.duration('boot_timeout', 180_000),
    sshPort: r.int('ssh_port', 22, 1, 65535),
    waitForSsh: r.bool('wait_for_ssh', true),
  };
  r.finish();
  return settings;
}

/** VMs this daemon names `nesting-<id>`; at Init, any such VM a previous daemon left is stopped and deleted. */
const PREFIX = 'nesting-';

interface Vm {
  id: string;
  image: string;
  addr: string;
  run: ChildProcess;
  alive: boolean;
  exited: Promise<void>;
  deleting: boolean;
}

/** Output of one `tart` command; rejects with its stderr when it fails. */
function tart(binary: string, args: string[], signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(binary, args, { encoding: 'utf8', maxBuffer: 8 << 20, ...(signal ? { signal } : {}) }, (err, stdout, stderr) => {
      if (err) {
        const why = stderr.trim() || err.message;
        reject(new RunnerError('internal', `tart ${args[0]} failed: ${why}`, { cause: err }));
      } else resolve(stdout);
    });
  });
}

/**
 * VMs through the `tart` command line (macOS on Apple silicon): `tart clone <image> <name>`, `tart run
 * --no-graphics <name>` (the process lives as long as the VM), `tart ip --wait <s> <name>`, `tart stop <name>`,
 * `tart delete <name>`; `tart list --format json` at Init to remove what a previous daemon left.
 */
export class TartHypervisor implements Hypervisor {
  readonly name = 'tart';
  private settings: TartSettings | undefined;
  private readonly vms = new Map<string, Vm>();
  private readonly logger: Logger;

  constructor(private readonly options: { serveConfig?: ConfigSource; logger?: Logger } = {}) {
    this.logger = options.logger ?? nullLogger;
  }

  private requireSettings(): TartSettings {
    if (!this.settings) throw new RunnerError('internal', 'tart hypervisor used before Init');
    return this.settings;
  }

  async init(config: Record<string, unknown>, signal: AbortSignal): Promise<HypervisorInfo> {
    const sources = [...(this.options.serveConfig ? [this.options.serveConfig] : []), { where: 'Init config', values: config }];
    const settings = tartSettings(sources);
    this.settings = settings;
    await this.reapLeftovers(settings, signal);
    return { slots: settings.slots };
  }

  /** Stops and deletes every `nesting-*` VM tart knows that this daemon did not create. */
  private async reapLeftovers(s: TartSettings, signal: AbortSignal): Promise<void> {
    let entries: unknown;
    try {
      entries = JSON.parse(await tart(s.tartBinary, ['list', '--format', 'json'], signal));
    } catch (err) {
      throw RunnerError.wrap('listing tart VMs', err);
    }
    if (!Array.isArray(entries)) throw new RunnerError('internal', 'tart list --format json: expected a JSON array');
    const mine = new Set([...this.vms.values()].map((vm) => PREFIX + vm.id));
    for (const e of entries as Record<string, unknown>[]) {
      const name = typeof e['Name'] === 'string' ? e['Name'] : '';
      if (!name.startsWith(PREFIX) || mine.has(name)) continue;
      await tart(s.tartBinary, ['stop', name], signal).catch(() => undefined);
      await tart(s.tartBinary, ['delete', name], signal).catch((err: Error) => this.logger.warn('deleting a left-over VM failed', { name, error: err.message }));
      this.logger.warn('deleted a VM a previous daemon left', { name });
    }
  }

  async create(image: string, signal: AbortSignal): Promise<VirtualMachine> {
    const s = this.requireSettings();
    const id = randomBytes(6).toString('hex');
    const name = PREFIX + id;
    try {
      await tart(s.tartBinary, ['clone', image, name], signal);
    } catch (err) {
      throw invalidArgument(`unknown image ${JSON.stringify(image)}: ${(err as Error).message}`);
    }
    const run = spawn(s.tartBinary, ['run', '--no-graphics', name], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    run.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
    const gone = new AbortController();
    const vm: Vm = { id, image, addr: '', run, alive: true, deleting: false, exited: undefined as unknown as Promise<void> };
    vm.exited = new Promise<void>((resolve) => {
      run.once('error', () => {
        vm.alive = false;
        gone.abort();
        resolve();
      });
      run.once('close', () => {
        vm.alive = false;
        gone.abort();
        resolve();
      });
    });
    this.vms.set(id, vm);
    void vm.exited.then(() => {
      if (this.vms.get(id) === vm && !vm.deleting) {
        this.vms.delete(id);
        this.logger.warn('VM ended (tart run exited)', { id });
        void tart(s.tartBinary, ['delete', name]).catch(() => undefined);
      }
    });
    const timeout = AbortSignal.timeout(s.bootTimeoutMs);
    const wait = linkSignals(signal, timeout, gone.signal);
    try {
      let ip = '';
      while (!ip) {
        if (wait.signal.aborted) throw wait.signal.reason;
        ip = (await tart(s.tartBinary, ['ip', '--wait', '10', name], wait.signal).catch(() => '')).trim();
      }
      vm.addr = `${ip}:${s.sshPort}`;
      if (s.waitForSsh) await waitForSsh(ip, s.sshPort, wait.signal);
    } catch (err) {
      await this.remove(vm, s);
      if (timeout.aborted) throw deadlineExceeded(`VM from image ${JSON.stringify(image)} did not get an address${vm.addr ? ` (no SSH server on ${vm.addr})` : ''} within ${formatGoDuration(s.bootTimeoutMs)} (boot_timeout); the VM was deleted`);
      if (gone.signal.aborted && !signal.aborted) throw new RunnerError('internal', `VM from image ${JSON.stringify(image)}: tart run exited before the VM had an address: ${stderr.trim() || '(no output)'}`);
      throw err;
    } finally {
      wait.dispose();
    }
    this.logger.info('VM created', { id, image, addr: vm.addr });
    return { id, name: image, addr: vm.addr };
  }

  private async remove(vm: Vm, s: TartSettings): Promise<void> {
    vm.deleting = true;
    const name = PREFIX + vm.id;
    await tart(s.tartBinary, ['stop', name]).catch(() => undefined);
    if (vm.alive) vm.run.kill('SIGKILL');
    await vm.exited;
    this.vms.delete(vm.id);
    await tart(s.tartBinary, ['delete', name]).catch((err: Error) => this.logger.warn('tart delete failed', { name, error: err.message }));
  }

  async delete(id: string): Promise<void> {
    const vm = this.vms.get(id);
    if (!vm) throw notFound(`no VM ${JSON.stringify(id)}`);
    await this.remove(vm, this.requireSettings());
  }

  async list(): Promise<VirtualMachine[]> {
    return [...this.vms.values()].filter((vm) => vm.alive && !vm.deleting && vm.addr).map((vm) => ({ id: vm.id, name: vm.image, addr: vm.addr }));
  }

  async shutdown(): Promise<void> {
    const s = this.requireSettings();
    await Promise.all([...this.vms.values()].map((vm) => this.remove(vm, s)));
    this.settings = undefined;
  }

  async close(): Promise<void> {
    if (!this.settings) return;
    const s = this.settings;
    await Promise.all([...this.vms.values()].map((vm) => this.remove(vm, s)));
  }
}
