import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants, existsSync } from 'node:fs';
import { access, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { RunnerError, formatGoDuration, linkSignals, nullLogger, type Logger } from '@fleetrunner/common';
import { deadlineExceeded, invalidArgument, notFound, type Hypervisor, type HypervisorInfo, type VirtualMachine } from '@fleetrunner/nesting';
import { ConfigReader, type ConfigSource } from './config.js';
import { waitForSsh } from './ssh-wait.js';

/** The settings of the qemu hypervisor (serve config file, then Init config over it). */
export interface QemuSettings {
  imagesDir: string;
  slots: number;
  memoryMiB: number;
  cpus: number;
  accel: 'auto' | 'kvm' | 'tcg';
  bootTimeoutMs: number;
  /** Loopback address the guests' SSH ports are forwarded to. */
  hostAddress: string;
  qemuBinary: string;
  /** `-machine`; '' = QEMU's default (x86: pc), `virt` for aarch64. */
  machine: string;
}

/** Where VMs keep their files; only from the serve config (it must be known before Init, to reap leftovers). */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env['XDG_STATE_HOME'] && isAbsolute(env['XDG_STATE_HOME']) ? env['XDG_STATE_HOME'] : join(env['HOME'] || homedir(), '.local', 'state');
  return join(base, 'nesting');
}

function defaultImagesDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env['XDG_DATA_HOME'] && isAbsolute(env['XDG_DATA_HOME']) ? env['XDG_DATA_HOME'] : join(env['HOME'] || homedir(), '.local', 'share');
  return join(base, 'nesting', 'images');
}

/** Reads the qemu settings from configuration sources (later ones win). */
export function qemuSettings(sources: readonly ConfigSource[], env: NodeJS.ProcessEnv = process.env): QemuSettings {
  const r = new ConfigReader(sources);
  const arch = process.arch === 'arm64' ? 'aarch64' : 'x86_64';
  const settings: QemuSettings = {
    imagesDir: resolve(r.string('images_dir', defaultImagesDir(env))),
    slots: r.int('slots', 2, 1, 64),
    memoryMiB: r.int('memory', 512, 64, 1024 * 1024),
    cpus: r.int('cpus', 1, 1, 256),
    accel: r.oneOf('accel', 'auto', ['auto', 'kvm', 'tcg'] as const),
    bootTimeoutMs: r.duration('boot_timeout', 120_000),
    hostAddress: r.string('host_address', '127.0.0.1'),
    qemuBinary: r.string('qemu_binary', `qemu-system-${arch}`),
    machine: '',
  };
  settings.machine = r.string('machine', settings.qemuBinary.endsWith('aarch64') ? 'virt' : '') || '';
  r.string('state_dir', ''); // read by the daemon at start, see stateDirOf
  r.finish();
  return settings;
}

/** An image directory's manifest (`image.json`), all keys optional. */
interface ImageSpec {
  dir: string;
  kernel?: string;
  initrd?: string;
  append: string;
  disk?: string;
  diskFormat: 'raw' | 'qcow2';
  sshPort: number;
  memoryMiB?: number;
  cpus?: number;
}

const SEGMENT_RE = /^[A-Za-z0-9_][A-Za-z0-9._:@+-]*$/;

/** Checks an image name and finds its directory under `imagesDir`; InvalidArgument when there is none. */
export async function resolveImage(imagesDir: string, name: string): Promise<ImageSpec> {
  const segments = name.split('/');
  if (segments.some((s) => !SEGMENT_RE.test(s))) {
    throw invalidArgument(`unknown image ${JSON.stringify(name)}: an image name is a path of letters, digits and . _ : @ + - under images_dir (no "..", no leading "/")`);
  }
  const dir = join(imagesDir, ...segments);
  const st = await stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) throw invalidArgument(`unknown image ${JSON.stringify(name)}: no directory ${dir} (images_dir ${imagesDir})`);
  const manifestPath = join(dir, 'image.json');
  let manifest: Record<string, unknown> = {};
  if (existsSync(manifestPath)) {
    try {
      const v: unknown = JSON.parse(await readFile(manifestPath, 'utf8'));
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('expected a JSON object');
      manifest = v as Record<string, unknown>;
    } catch (err) {
      throw invalidArgument(`image ${JSON.stringify(name)}: ${manifestPath}: ${(err as Error).message}`);
    }
  }
  const where = `image ${JSON.stringify(name)}: ${manifestPath}`;
  const r = new ConfigReader([{ where, values: manifest }]);
  const file = (key: string, conventional: string[]): string | undefined => {
    const given = r.string(key, '');
    if (given) {
      const p = isAbsolute(given) ? given : join(dir, given);
      if (!existsSync(p)) throw invalidArgument(`${where}: ${key}: no file ${p}`);
      return p;
    }
    return conventional.map((c) => join(dir, c)).find((p) => existsSync(p));
  };
  const kernel = file('kernel', ['vmlinuz']);
  const initrd = file('initrd', ['initrd.img']);
  const disk = file('disk', ['disk.qcow2', 'disk.img']);
  const spec: ImageSpec = {
    dir,
    append: r.string('append', 'console=ttyS0 panic=-1'),
    diskFormat: r.oneOf('disk_format', disk?.endsWith('.qcow2') ? 'qcow2' : 'raw', ['raw', 'qcow2'] as const),
    sshPort: r.int('ssh_port', 22, 1, 65535),
  };
  if (kernel) spec.kernel = kernel;
  if (initrd) spec.initrd = initrd;
  if (disk) spec.disk = disk;
  const memory = r.int('memory', 0, 0, 1024 * 1024);
  if (memory) spec.memoryMiB = memory;
  const cpus = r.int('cpus', 0, 0, 256);
  if (cpus) spec.cpus = cpus;
  r.finish();
  if (!kernel && !disk) throw invalidArgument(`unknown image ${JSON.stringify(name)}: ${dir} holds neither a kernel (vmlinuz) nor a disk (disk.qcow2, disk.img)`);
  if (initrd && !kernel) throw invalidArgument(`${where}: initrd without a kernel`);
  return spec;
}

/** A free TCP port on `host` (the kernel's pick; QEMU binds it a moment later, a lost race is retried). */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen({ host, port: 0, exclusive: true }, () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** A 512-byte boot sector that writes 0 to the isa-debug-exit port: QEMU exits with status 1 once a vCPU ran it. */
function probeBootSector(): Buffer {
  const b = Buffer.alloc(512);
  Buffer.from([0xb0, 0x00, 0xe6, 0xf4, 0xf4, 0xeb, 0xfe]).copy(b); // mov al,0; out 0xf4,al; hlt; jmp $
  b[510] = 0x55;
  b[511] = 0xaa;
  return b;
}

interface Vm {
  id: string;
  name: string;
  addr: string;
  dir: string;
  child: ChildProcess;
  exited: Promise<void>;
  alive: boolean;
  deleting: boolean;
}

/** True when a process with `pid` exists. */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The last `max` characters of a file, '' when missing. */
async function tail(path: string, max = 1500): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.length > max ? `…${text.slice(-max)}` : text;
}

/** Options of {@link QemuHypervisor}. */
export interface QemuOptions {
  /** The serve config file's values (defaults of Init). */
  serveConfig?: ConfigSource;
  stateDir: string;
  logger?: Logger;
  env?: NodeJS.ProcessEnv;
}

/**
 * VMs as QEMU processes on Linux: one per Create, from an image directory (kernel + initrd, or a disk used with
 * `snapshot=on`), user-mode networking with the guest's SSH port forwarded to a loopback port; KVM when a probe
 * shows it works, else TCG. Each QEMU gets the parent-death signal SIGKILL (util-linux `setpriv --pdeathsig`), so
 * it dies with the daemon, and writes a pidfile in the state dir, from which the next daemon reaps what is left.
 */
export class QemuHypervisor implements Hypervisor {
  readonly name = 'qemu';
  private settings: QemuSettings | undefined;
  private readonly vms = new Map<string, Vm>();
  private accelChoice: Promise<'kvm' | 'tcg'> | undefined;
  private readonly logger: Logger;
  private readonly setpriv: string | undefined;

  constructor(private readonly options: QemuOptions) {
    this.logger = options.logger ?? nullLogger;
    this.setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));
  }

  private get vmsDir(): string {
    return join(this.options.stateDir, 'vms');
  }

  /**
   * Kills the QEMU processes a previous daemon left (pidfiles under the state dir whose process is still that
   * QEMU) and removes their directories. Returns the pids killed.
   */
  async reapLeftovers(): Promise<number[]> {
    await mkdir(this.vmsDir, { recursive: true, mode: 0o700 });
    const killed: number[] = [];
    for (const id of await readdir(this.vmsDir)) {
      const dir = join(this.vmsDir, id);
      const pid = Number((await readFile(join(dir, 'qemu.pid'), 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && processExists(pid)) {
        const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
        if (cmdline.includes(join(dir, 'qemu.pid'))) {
          process.kill(pid, 'SIGKILL');
          killed.push(pid);
          for (let i = 0; i < 100 && processExists(pid); i++) await new Promise((r) => setTimeout(r, 50));
        }
      }
      await rm(dir, { recursive: true, force: true });
    }
    if (killed.length > 0) this.logger.warn('killed VMs a previous daemon left running', { pids: killed });
    return killed;
  }

  async init(config: Record<string, unknown>): Promise<HypervisorInfo> {
    if (Object.prototype.hasOwnProperty.call(config, 'state_dir')) throw invalidArgument('Init config: state_dir: only the serve config file can set it');
    const sources = [...(this.options.serveConfig ? [this.options.serveConfig] : []), { where: 'Init config', values: config }];
    const settings = qemuSettings(sources, this.options.env);
    this.settings = settings;
    this.accelChoice = undefined;
    return { slots: settings.slots };
  }

  private requireSettings(): QemuSettings {
    if (!this.settings) throw new RunnerError('internal', 'qemu hypervisor used before Init');
    return this.settings;
  }

  /** The accelerator to use: `kvm`/`tcg` as configured; `auto` = KVM when /dev/kvm opens and a probe guest runs. */
  accel(): Promise<'kvm' | 'tcg'> {
    const s = this.requireSettings();
    if (s.accel !== 'auto') return Promise.resolve(s.accel);
    return (this.accelChoice ??= this.probeKvm(s));
  }

  private async probeKvm(s: QemuSettings): Promise<'kvm' | 'tcg'> {
    try {
      await access('/dev/kvm', constants.R_OK | constants.W_OK);
    } catch {
      this.logger.info('accelerator: tcg (/dev/kvm is not usable)');
      return 'tcg';
    }
    const probe = join(this.options.stateDir, 'kvm-probe.img');
    await mkdir(this.options.stateDir, { recursive: true, mode: 0o700 });
    await writeFile(probe, probeBootSector());
    const args = ['-nodefaults', '-no-user-config', '-display', 'none', '-accel', 'kvm', '-m', '16', '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04'];
    args.push('-drive', `file=${probe},format=raw,if=floppy,readonly=on`, '-boot', 'a');
    const timeoutMs = 3000;
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(s.qemuBinary, args, { stdio: 'ignore' });
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.once('error', () => resolve(null));
      child.once('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    if (code === 1) {
      this.logger.info('accelerator: kvm (probe guest ran)');
      return 'kvm';
    }
    this.logger.warn('accelerator: tcg (a KVM guest did not run within the probe time; nested virtualization unusable?)', { probe_ms: timeoutMs, exit: code });
    return 'tcg';
  }

  async create(image: string, signal: AbortSignal): Promise<VirtualMachine> {
    const s = this.requireSettings();
    const spec = await resolveImage(s.imagesDir, image);
    const accel = await this.accel();
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.start(s, spec, image, accel, signal);
      } catch (err) {
        // Another process took the port between our pick and QEMU's bind: pick again.
        if (err instanceof PortTaken && attempt < 3) continue;
        throw err;
      }
    }
  }

  private async start(s: QemuSettings, spec: ImageSpec, image: string, accel: 'kvm' | 'tcg', signal: AbortSignal): Promise<VirtualMachine> {
    const id = `vm-${randomBytes(6).toString('hex')}`;
    const dir = join(this.vmsDir, id);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const port = await freePort(s.hostAddress);
    const addr = `${s.hostAddress}:${port}`;
    const args = ['-name', `nesting-${id}`, '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot'];
    // TCG with QEMU's default CPU model: `-cpu max` boots several times slower there.
    args.push('-accel', accel, ...(accel === 'kvm' ? ['-cpu', 'host'] : []), '-m', String(spec.memoryMiB ?? s.memoryMiB), '-smp', String(spec.cpus ?? s.cpus));
    if (s.machine) args.push('-machine', s.machine);
    args.push('-pidfile', join(dir, 'qemu.pid'), '-serial', `file:${join(dir, 'console.log')}`, '-monitor', 'none');
    args.push('-netdev', `user,id=net0,hostfwd=tcp:${s.hostAddress}:${port}-:${spec.sshPort}`, '-device', 'virtio-net-pci,netdev=net0');
    if (spec.kernel) {
      args.push('-kernel', spec.kernel, '-append', spec.append);
      if (spec.initrd) args.push('-initrd', spec.initrd);
    }
    if (spec.disk) args.push('-drive', `file=${spec.disk},format=${spec.diskFormat},if=virtio,snapshot=on`);
    const [cmd, argv] = this.setpriv ? [this.setpriv, ['--pdeathsig', 'SIGKILL', '--', s.qemuBinary, ...args]] : [s.qemuBinary, args];
    const child = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'], detached: false });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-4000);
    });
    const vm: Vm = { id, name: image, addr, dir, child, alive: true, deleting: false, exited: undefined as unknown as Promise<void> };
    const exitInfo: { code: number | null; signal: NodeJS.Signals | null; error?: Error } = { code: null, signal: null };
    const gone = new AbortController();
    vm.exited = new Promise<void>((resolveExit) => {
      child.once('error', (err) => {
        exitInfo.error = err;
        vm.alive = false;
        gone.abort();
        resolveExit();
      });
      child.once('close', (code, sig) => {
        exitInfo.code = code;
        exitInfo.signal = sig;
        vm.alive = false;
        gone.abort();
        resolveExit();
      });
    });
    this.vms.set(id, vm);
    void vm.exited.then(() => this.onExit(vm));
    await writeFile(join(dir, 'vm.json'), JSON.stringify({ id, name: image, addr }) + '\n');

    const timeout = AbortSignal.timeout(s.bootTimeoutMs);
    const wait = linkSignals(signal, timeout, gone.signal);
    try {
      await waitForSsh(s.hostAddress, port, wait.signal);
    } catch (err) {
      const console = await tail(join(dir, 'console.log'));
      await this.kill(vm);
      if (exitInfo.error) throw new RunnerError('internal', `starting ${s.qemuBinary}: ${exitInfo.error.message}`);
      if (!vm.deleting && gone.signal.aborted && !timeout.aborted && !signal.aborted) {
        if (/Could not set up host forwarding rule/i.test(stderr)) throw new PortTaken();
        const how = exitInfo.signal ? `signal ${exitInfo.signal}` : `code ${exitInfo.code}`;
        throw new RunnerError('internal', `VM from image ${JSON.stringify(image)}: qemu exited (${how}) before its SSH server answered: ${stderr.trim() || '(no output)'}`);
      }
      if (timeout.aborted) {
        throw deadlineExceeded(
          `VM from image ${JSON.stringify(image)} did not get an address: no SSH server answered on ${addr} within ${formatGoDuration(s.bootTimeoutMs)} (boot_timeout); the VM was deleted. Console:\n${console.trim() || '(empty)'}`,
        );
      }
      throw err;
    } finally {
      wait.dispose();
    }
    this.logger.info('VM created', { id, image, addr, accel });
    return { id, name: image, addr };
  }

  /** A VM whose process ended: forget it and remove its files (List shows reality). */
  private async onExit(vm: Vm): Promise<void> {
    if (this.vms.get(vm.id) === vm) this.vms.delete(vm.id);
    if (!vm.deleting) this.logger.warn('VM process ended', { id: vm.id, image: vm.name });
    await rm(vm.dir, { recursive: true, force: true });
  }

  private async kill(vm: Vm): Promise<void> {
    vm.deleting = true;
    if (vm.alive) vm.child.kill('SIGKILL');
    await vm.exited;
    this.vms.delete(vm.id);
    await rm(vm.dir, { recursive: true, force: true });
  }

  async delete(id: string): Promise<void> {
    const vm = this.vms.get(id);
    if (!vm) throw notFound(`no VM ${JSON.stringify(id)}`);
    await this.kill(vm);
    this.logger.info('VM deleted', { id });
  }

  async list(): Promise<VirtualMachine[]> {
    return [...this.vms.values()].filter((vm) => vm.alive && !vm.deleting).map(({ id, name, addr }) => ({ id, name, addr }));
  }

  async shutdown(): Promise<void> {
    await Promise.all([...this.vms.values()].map((vm) => this.kill(vm)));
    this.settings = undefined;
  }

  async close(): Promise<void> {
    await Promise.all([...this.vms.values()].map((vm) => this.kill(vm)));
  }
}

class PortTaken extends Error {
  constructor() {
    super('the forwarded port was taken');
  }
}
