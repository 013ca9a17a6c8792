#!/usr/bin/env node
// The GitLab stand-in as a program, for demos: `node test/dist/src/gitlab-standin/main.js [--port N]
// [--runner-token glrt-…] [--repo name=dir]… [--long-poll-ms N] [--trace-update-interval S]`. Prints
// `url=<url>` and `runner_token=<token>` once listening; stops on SIGINT/SIGTERM.
import { parseArgs } from 'node:util';
import { startGitLabStandin } from './server.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    'runner-token': { type: 'string' },
    repo: { type: 'string', multiple: true, default: [] },
    'long-poll-ms': { type: 'string' },
    'trace-update-interval': { type: 'string' },
  },
});

const standin = await startGitLabStandin({
  port: Number(values.port),
  host: values.host,
  ...(values['long-poll-ms'] !== undefined ? { longPollMs: Number(values['long-poll-ms']) } : {}),
  ...(values['trace-update-interval'] !== undefined ? { traceUpdateIntervalSeconds: Number(values['trace-update-interval']) } : {}),
});
const runner = standin.registerRunner(values['runner-token'] ? { token: values['runner-token'] } : {});
for (const spec of values.repo) {
  const i = spec.indexOf('=');
  if (i <= 0) throw new Error(`--repo expects name=dir, got ${spec}`);
  const url = standin.addGitRepo(spec.slice(0, i), spec.slice(i + 1));
  process.stdout.write(`repo=${url}\n`);
}
process.stdout.write(`url=${standin.url}\nrunner_token=${runner.token}\nregistration_token=${standin.registrationToken}\n`);

const stop = (): void => {
  void standin.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
