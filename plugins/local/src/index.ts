export { LocalInstanceGroup, type LocalInstanceGroupOptions } from './instance-group.js';
export { parseLocalConfig, type LocalConfig, type LocalMode, type ConfigEnv } from './config.js';
export { VERSION } from './version.js';
