export { main } from './main.js';
export { resolvePluginPath, localPluginPath } from './plugin-path.js';
export type { Output } from './output.js';
