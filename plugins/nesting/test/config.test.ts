// Configuration and image-directory errors of the qemu and tart hypervisors: each names its source, key and what
// was expected. Pure functions over temporary files.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { GrpcStatus, NestingStatus } from '@fleetrunner/nesting';
import { tmpDir } from '@fleetrunner/testing';
import { qemuSettings, resolveImage, tartSettings } from '../src/index.js';

const file = (values: Record<string, unknown>) => ({ where: 'config file /etc/nesting.json', values });
const init = (values: Record<string, unknown>) => ({ where: 'Init config', values });

t.test('qemu settings: defaults, Init over the file, errors name source and key', async (t) => {
  const s = qemuSettings([file({ images_dir: '/srv/images', memory: 1024 }), init({ memory: 256, boot_timeout: '90s' })], { HOME: '/home/u' });
  t.equal(s.imagesDir, '/srv/images');
  t.equal(s.memoryMiB, 256, 'Init wins over the file');
  t.equal(s.bootTimeoutMs, 90_000);
  t.equal(s.slots, 2);
  t.equal(s.accel, 'auto');
  t.equal(s.hostAddress, '127.0.0.1');
  t.equal(qemuSettings([], { HOME: '/home/u' }).imagesDir, '/home/u/.local/share/nesting/images');
  t.equal(qemuSettings([init({ boot_timeout: 5 })]).bootTimeoutMs, 5000, 'a number is seconds');
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ slots: 0 }, /^Init config: slots: expected an integer from 1 to 64, got 0$/],
    [{ accel: 'hvf' }, /^Init config: accel: expected one of "auto", "kvm", "tcg", got "hvf"$/],
    [{ boot_timeout: '2 minutes' }, /^Init config: boot_timeout: expected a positive Go duration such as "90s" or "2m", got "2 minutes"$/],
    [{ memroy: 256 }, /^Init config: unknown key "memroy" \(known: .*memory.*\)$/],
    [{ images_dir: 7 }, /^Init config: images_dir: expected a non-empty string, got 7$/],
  ];
  for (const [values, message] of cases) {
    const err = (() => {
      try {
        qemuSettings([init(values)]);
        return undefined;
      } catch (e) {
        return e as NestingStatus;
      }
    })();
    t.type(err, NestingStatus);
    t.equal(err?.status, GrpcStatus.INVALID_ARGUMENT);
    t.match(err?.message, message);
  }
});

t.test('tart settings', async (t) => {
  t.same(tartSettings([]), { tartBinary: 'tart', slots: 2, bootTimeoutMs: 180_000, sshPort: 22, waitForSsh: true });
  t.throws(() => tartSettings([file({ wait_for_ssh: 'no' })]), /^config file \/etc\/nesting.json: wait_for_ssh: expected true or false, got "no"$/);
});

t.test('image directories: kernel or disk, manifest overrides, clear refusals', async (t) => {
  const dir = tmpDir(t, { prefix: 'nesting-images' });
  mkdirSync(join(dir, 'k'));
  writeFileSync(join(dir, 'k', 'vmlinuz'), '');
  writeFileSync(join(dir, 'k', 'initrd.img'), '');
  const k = await resolveImage(dir, 'k');
  t.equal(k.kernel, join(dir, 'k', 'vmlinuz'));
  t.equal(k.initrd, join(dir, 'k', 'initrd.img'));
  t.equal(k.sshPort, 22);
  mkdirSync(join(dir, 'team', 'disk:1'), { recursive: true });
  writeFileSync(join(dir, 'team', 'disk:1', 'disk.qcow2'), '');
  writeFileSync(join(dir, 'team', 'disk:1', 'image.json'), JSON.stringify({ ssh_port: 2222, memory: 2048 }));
  const d = await resolveImage(dir, 'team/disk:1');
  t.equal(d.disk, join(dir, 'team', 'disk:1', 'disk.qcow2'));
  t.equal(d.diskFormat, 'qcow2');
  t.equal(d.sshPort, 2222);
  t.equal(d.memoryMiB, 2048);
  mkdirSync(join(dir, 'empty'));
  mkdirSync(join(dir, 'bad'));
  writeFileSync(join(dir, 'bad', 'vmlinuz'), '');
  writeFileSync(join(dir, 'bad', 'image.json'), JSON.stringify({ initrd: 'missing.img' }));
  mkdirSync(join(dir, 'typo'));
  writeFileSync(join(dir, 'typo', 'vmlinuz'), '');
  writeFileSync(join(dir, 'typo', 'image.json'), JSON.stringify({ kernal: 'vmlinuz' }));
  const refusals: [string, RegExp][] = [
    ['nope', /^unknown image "nope": no directory .*\/nope \(images_dir .*\)$/],
    ['../etc', /^unknown image "\.\.\/etc": an image name is a path of letters/],
    ['/etc', /^unknown image "\/etc": an image name is a path/],
    ['empty', /^unknown image "empty": .*empty holds neither a kernel \(vmlinuz\) nor a disk/],
    ['bad', /^image "bad": .*bad\/image.json: initrd: no file .*missing.img$/],
    ['typo', /^image "typo": .*typo\/image.json: unknown key "kernal"/],
  ];
  for (const [name, message] of refusals) {
    const err = (await resolveImage(dir, name).catch((e: unknown) => e)) as NestingStatus;
    t.equal(err.status, GrpcStatus.INVALID_ARGUMENT, name);
    t.match(err.message, message, name);
  }
});
