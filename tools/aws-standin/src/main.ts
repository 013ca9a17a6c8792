// The aws-standin binary: serves the stand-in until SIGINT/SIGTERM, then removes every instance.
import { runStandinBinary } from '@fleetrunner/standin-kit';
import { parseStandinArgs, standinUsage } from './cli.js';
import { startAwsStandin } from './standin.js';

await runStandinBinary({ name: 'aws-standin', usage: standinUsage, parse: parseStandinArgs, start: startAwsStandin });
