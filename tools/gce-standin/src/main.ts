// The gce-standin binary: serves the stand-in until SIGINT/SIGTERM, then removes every instance.
import { runStandinBinary } from '@fleetrunner/standin-kit';
import { parseStandinArgs, standinUsage } from './cli.js';
import { startGceStandin } from './standin.js';

await runStandinBinary({ name: 'gce-standin', usage: standinUsage, parse: parseStandinArgs, start: startGceStandin });
