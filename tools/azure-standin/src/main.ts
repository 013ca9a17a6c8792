// The azure-standin binary: serves the stand-in until SIGINT/SIGTERM, then removes every instance.
import { createLogger, textSink } from '@fleetrunner/common';
import { parseStandinArgs, standinUsage } from './cli.js';
import { startAzureStandin } from './standin.js';

let parsed: ReturnType<typeof parseStandinArgs>;
try {
  parsed = parseStandinArgs(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`azure-standin: ${err instanceof Error ? err.message : String(err)}\n\n${standinUsage}`);
  process.exit(2);
}
if (parsed.help) {
  process.stdout.write(standinUsage);
  process.exit(0);
}
const logger = createLogger({ level: parsed.logLevel, sink: textSink(process.stderr) });
try {
  const standin = await startAzureStandin({ ...parsed.options, logger });
  // Shell-quoted: the lines can be eval'ed as they are.
  const quote = (v: string): string => `'${v.replace(/'/g, `'\\''`)}'`;
  process.stdout.write(`endpoint=${standin.endpoint}\n${Object.entries(standin.env).map(([k, v]) => `export ${k}=${quote(v)}\n`).join('')}`);
  const stop = (): void => {
    standin.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`azure-standin: stopping: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} catch (err) {
  process.stderr.write(`azure-standin: starting: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
