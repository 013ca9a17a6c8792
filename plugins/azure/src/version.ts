import { packageVersion } from '@fleetrunner/fleeting';

/** This plugin's version, from its package.json. */
export const VERSION = packageVersion(new URL('../../package.json', import.meta.url));
