#!/usr/bin/env node
// A recording stand-in of the `tart` command line, for the tart hypervisor's tests only (it runs no VM).
// Every call appends its argv as a JSON line to $TART_STANDIN_DIR/calls.jsonl. State lives in $TART_STANDIN_DIR:
// images/<name> are the clonable images, vms/<name>.json the VMs, vms/<name>.pid the pid of a running `run`.
// `ip` prints $TART_STANDIN_IP for a running VM; with the file $TART_STANDIN_DIR/noip present it never has one.
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.TART_STANDIN_DIR;
if (!dir) {
  process.stderr.write('tart stand-in: TART_STANDIN_DIR is not set\n');
  process.exit(2);
}
const args = process.argv.slice(2);
appendFileSync(join(dir, 'calls.jsonl'), JSON.stringify(args) + '\n');
mkdirSync(join(dir, 'vms'), { recursive: true });
const vmFile = (name) => join(dir, 'vms', `${name}.json`);
const pidFile = (name) => join(dir, 'vms', `${name}.pid`);
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const runningPid = (name) => {
  if (!existsSync(pidFile(name))) return undefined;
  const pid = Number(readFileSync(pidFile(name), 'utf8'));
  return alive(pid) ? pid : undefined;
};
const fail = (msg) => {
  process.stderr.write(`Error: ${msg}\n`);
  process.exit(1);
};
const positional = args.slice(1).filter((a, i, all) => !a.startsWith('--') && !(i > 0 && all[i - 1] === '--wait') && !(i > 0 && all[i - 1] === '--format'));
const [command] = args;

switch (command) {
  case 'clone': {
    const [source, name] = positional;
    if (!existsSync(join(dir, 'images', source))) fail(`the specified VM "${source}" does not exist`);
    if (existsSync(vmFile(name))) fail(`VM "${name}" already exists`);
    writeFileSync(vmFile(name), JSON.stringify({ source }));
    break;
  }
  case 'run': {
    const [name] = positional;
    if (!existsSync(vmFile(name))) fail(`the specified VM "${name}" does not exist`);
    writeFileSync(pidFile(name), String(process.pid));
    const end = () => {
      rmSync(pidFile(name), { force: true });
      process.exit(0);
    };
    process.on('SIGTERM', end);
    process.on('SIGINT', end);
    setInterval(() => undefined, 1 << 30);
    break;
  }
  case 'ip': {
    const [name] = positional;
    const waitIdx = args.indexOf('--wait');
    const waitS = waitIdx >= 0 ? Number(args[waitIdx + 1]) : 0;
    const deadline = Date.now() + waitS * 1000;
    const tick = () => {
      if (runningPid(name) && !existsSync(join(dir, 'noip'))) {
        process.stdout.write(`${process.env.TART_STANDIN_IP}\n`);
        process.exit(0);
      }
      if (Date.now() >= deadline) fail(`no IP address found for "${name}"`);
      setTimeout(tick, 100);
    };
    tick();
    break;
  }
  case 'stop': {
    const [name] = positional;
    if (!existsSync(vmFile(name))) fail(`the specified VM "${name}" does not exist`);
    const pid = runningPid(name);
    if (pid) {
      process.kill(pid, 'SIGTERM');
      const wait = () => (alive(pid) ? setTimeout(wait, 20) : process.exit(0));
      wait();
    }
    break;
  }
  case 'delete': {
    const [name] = positional;
    if (!existsSync(vmFile(name))) fail(`the specified VM "${name}" does not exist`);
    const pid = runningPid(name);
    if (pid) process.kill(pid, 'SIGKILL');
    rmSync(vmFile(name), { force: true });
    rmSync(pidFile(name), { force: true });
    break;
  }
  case 'list': {
    const vms = readdirSync(join(dir, 'vms'))
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -5))
      .map((name) => ({ Source: 'local', Name: name, State: runningPid(name) ? 'running' : 'stopped' }));
    process.stdout.write(JSON.stringify(vms) + '\n');
    break;
  }
  default:
    fail(`unknown command ${JSON.stringify(command)}`);
}
