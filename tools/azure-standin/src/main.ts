// The azure-standin binary: serves the stand-in until SIGINT/SIGTERM, then removes every instance.
import { runStandinBinary } from '@fleetrunner/standin-kit';
import { parseStandinArgs, standinUsage } from './cli.js';
import { startAzureStandin } from './standin.js';

await runStandinBinary({ name: 'azure-standin', usage: standinUsage, parse: parseStandinArgs, start: startAzureStandin });
