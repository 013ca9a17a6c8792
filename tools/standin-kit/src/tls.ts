import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RunnerError } from '@fleetrunner/common';
import { listenOn, withBody, type RequestHandler } from './server.js';

const run = promisify(execFile);

/** A certificate authority made for one stand-in run and a server certificate it signed. PEM text and file paths. */
export interface TestCa {
  /** The CA certificate's file: what clients trust (`NODE_EXTRA_CA_CERTS`). */
  caFile: string;
  caPem: string;
  /** The server's certificate and key. */
  certPem: string;
  keyPem: string;
}

/**
 * Makes a CA (EC P-256, valid 2 days) and a server certificate for `hosts` (IP addresses and DNS names, put in
 * subjectAltName) in `dir`, with the system's `openssl`. Fails naming openssl when it is missing.
 */
export async function makeTestCa(dir: string, hosts: readonly string[], name = 'fleetrunner stand-in'): Promise<TestCa> {
  const f = (n: string): string => join(dir, n);
  const san = [...new Set(hosts)].map((h) => (/^[\d.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
  writeFileSync(f('server.ext'), `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n`);
  const openssl = async (args: string[]): Promise<void> => {
    try {
      await run('openssl', args, { cwd: dir });
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: string };
      const why = e.code === 'ENOENT' ? 'openssl is not installed (apt-get install openssl)' : (e.stderr ?? e.message).trim();
      throw new RunnerError('unavailable', `making the stand-in's TLS certificates: openssl ${args[0]}: ${why}`, { cause: err });
    }
  };
  await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', `/CN=${name} CA`, '-keyout', 'ca.key', '-out', 'ca.pem']);
  await openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${hosts[0] ?? 'localhost'}`, '-keyout', 'server.key', '-out', 'server.csr']);
  await openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'server.ext', '-out', 'server.pem']);
  return { caFile: f('ca.pem'), caPem: readFileSync(f('ca.pem'), 'utf8'), certPem: readFileSync(f('server.pem'), 'utf8'), keyPem: readFileSync(f('server.key'), 'utf8') };
}

/** Like `listenHttp`, over TLS with `ca`'s server certificate. */
export function listenHttps(host: string, port: number, ca: TestCa, handle: RequestHandler): Promise<Server> {
  return listenOn(createServer({ cert: ca.certPem, key: ca.keyPem }, withBody('https://standin', handle)), host, port);
}
