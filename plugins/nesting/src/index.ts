export { QemuHypervisor, qemuSettings, resolveImage, defaultStateDir, type QemuSettings, type QemuOptions } from './qemu.js';
export { TartHypervisor, tartSettings, type TartSettings } from './tart.js';
export { ConfigReader, type ConfigSource } from './config.js';
export { waitForSsh } from './ssh-wait.js';
export { run, VERSION } from './cli.js';
