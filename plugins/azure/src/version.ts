import { readFileSync } from 'node:fs';
import { packageVersion } from '@fleetrunner/fleeting';

/** This plugin's version, from its package.json. */
export const VERSION = packageVersion(() => readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
