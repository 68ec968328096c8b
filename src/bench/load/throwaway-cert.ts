/**
 * A self-signed certificate for an embedded server run with TLS: made with
 * openssl in a temp dir when first needed, removed at exit. It protects nothing;
 * it is there so that the bench measures real TLS.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedServerError } from '../../protocol/index.ts';

export interface ThrowawayCertificate {
  certFile: string;
  keyFile: string;
  /** The certificate as PEM: what the load threads trust. */
  ca: string;
}

let made: ThrowawayCertificate | undefined;

/** Writes a self-signed P-256 certificate for `names` (a subjectAltName: `DNS:localhost,IP:127.0.0.1`) and its key. */
export function makeCertificate(certFile: string, keyFile: string, names: string, commonName = 'localhost'): void {
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1']
      .concat(['-subj', `/CN=${commonName}`, '-addext', `subjectAltName=${names}`])
      .concat(['-keyout', keyFile, '-out', certFile]),
    { stdio: 'ignore' },
  );
}

export function throwawayCertificate(): ThrowawayCertificate {
  if (made) return made;
  const dir = mkdtempSync(join(tmpdir(), 'handoff-bench-tls-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  try {
    makeCertificate(certFile, keyFile, 'DNS:localhost,IP:127.0.0.1');
  } catch (err) {
    throw new EmbeddedServerError(
      `TLS for the embedded server needs openssl to make a certificate: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  made = { certFile, keyFile, ca: readFileSync(certFile, 'utf8') };
  return made;
}
