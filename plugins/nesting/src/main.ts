// The `nesting` binary: `serve` runs the daemon; init, shutdown, create, delete and list are its client.
import { run } from './cli.js';

process.exitCode = await run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
