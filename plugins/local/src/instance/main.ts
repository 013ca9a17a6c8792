// Entry point of one ssh2-mode instance process: `node main.js <instance dir>`. Started detached by the plugin, it
// outlives plugin restarts; the plugin stops it by killing its process tree.
import { join } from 'node:path';
import { readServerConfig } from './server-config.js';
import { startInstanceServer } from './ssh2-server.js';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: main.js <instance dir>\n');
  process.exit(2);
}
const server = startInstanceServer(readServerConfig(join(dir, 'server.json')));
server.listening.then(
  ({ port }) => process.stderr.write(`listening on port ${port}\n`),
  (err: unknown) => {
    process.stderr.write(`listening: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  process.on(sig, () => {
    server.stop();
    process.exit(0);
  });
}
