import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { RunnerError } from '@fleetrunner/common';

/** A runner's TLS settings: `tls-ca-file`, `tls-cert-file`, `tls-key-file` ('' = not set). */
export interface RunnerTlsSettings {
  url: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  /** The certificate directory (`<config dir>/certs`); '' = no discovery. */
  certDir: string;
}

/** The files in effect for a runner, after discovery. */
export interface RunnerTlsFiles {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  /** Which of them came from the certificate directory. */
  discovered: string[];
}

/** PEM texts of a runner's TLS files: for the GitLab client and the job's `CI_SERVER_TLS_*_FILE` variables. */
export interface RunnerTls {
  files: RunnerTlsFiles;
  /** The CA chain (the CA file's content). */
  ca?: string;
  cert?: string;
  key?: string;
}

/**
 * GitLab Runner's certificate lookup: a key left empty in `config.toml` is taken from the certificate directory when
 * the file exists there — `<host>.crt` (CA), `<host>.auth.crt` and `<host>.auth.key` (client certificate), `<host>`
 * being the URL's host name without the port.
 */
export function resolveRunnerTlsFiles(s: RunnerTlsSettings): RunnerTlsFiles {
  let host = '';
  try {
    host = new URL(s.url).hostname.replace(/^\[|\]$/g, '');
  } catch {
    // an invalid URL is reported by the client; no discovery then
  }
  const out: RunnerTlsFiles = { discovered: [] };
  const pick = (given: string, name: string): string | undefined => {
    if (given) return given;
    if (!s.certDir || !host) return undefined;
    const path = join(s.certDir, `${host}${name}`);
    if (!existsSync(path)) return undefined;
    out.discovered.push(path);
    return path;
  };
  const ca = pick(s.caFile, '.crt');
  const cert = pick(s.certFile, '.auth.crt');
  const key = pick(s.keyFile, '.auth.key');
  if (ca) out.caFile = ca;
  if (cert) out.certFile = cert;
  if (key) out.keyFile = key;
  return out;
}

/**
 * Reads and checks a runner's TLS files. Throws `invalid_argument` naming the key and the file when one cannot be read
 * or holds no PEM certificate/key, or when only one of the client certificate and key is given.
 */
export function loadRunnerTls(s: RunnerTlsSettings): RunnerTls {
  const files = resolveRunnerTlsFiles(s);
  const out: RunnerTls = { files };
  const read = (key: string, path: string): string => {
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      throw new RunnerError('invalid_argument', `${key}: cannot read ${path}: ${(err as Error).message}`, { cause: err });
    }
  };
  if (files.caFile) {
    const pem = read('tls-ca-file', files.caFile);
    checkCertificates('tls-ca-file', files.caFile, pem);
    out.ca = pem;
  }
  if (files.certFile || files.keyFile) {
    if (!files.certFile || !files.keyFile) {
      throw new RunnerError('invalid_argument', `tls-cert-file and tls-key-file must be given together (got only ${files.certFile ? `tls-cert-file ${files.certFile}` : `tls-key-file ${files.keyFile}`})`);
    }
    const cert = read('tls-cert-file', files.certFile);
    checkCertificates('tls-cert-file', files.certFile, cert);
    const key = read('tls-key-file', files.keyFile);
    try {
      createPrivateKey(key);
    } catch (err) {
      throw new RunnerError('invalid_argument', `tls-key-file: ${files.keyFile} holds no PEM private key: ${(err as Error).message}`, { cause: err });
    }
    out.cert = cert;
    out.key = key;
  }
  return out;
}

function checkCertificates(key: string, path: string, pem: string): void {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new RunnerError('invalid_argument', `${key}: ${path} holds no PEM certificate`);
  for (const b of blocks) {
    try {
      new X509Certificate(b);
    } catch (err) {
      throw new RunnerError('invalid_argument', `${key}: ${path} holds a certificate that does not parse: ${(err as Error).message}`, { cause: err });
    }
  }
}
