// The fleeting tests' helpers: the plugin package's test helpers (one copy, in the lower package), and this package's fixtures.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export { processGone, recordingLogger, waitUntil } from '@fleetrunner/plugin/test-helpers';

const here = dirname(fileURLToPath(import.meta.url));

/** The compiled fixture program `name` (dist/test/fixtures/<name>.js). */
export function fixture(name: string): string {
  return join(here, 'fixtures', `${name}.js`);
}
