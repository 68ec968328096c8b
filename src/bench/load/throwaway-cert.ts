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

export function throwawayCertificate(): ThrowawayCertificate {
  if (made) return made;
  const dir = mkdtempSync(join(tmpdir(), 'handoff-bench-tls-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1']
        .concat(['-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'])
        .concat(['-keyout', keyFile, '-out', certFile]),
      { stdio: 'ignore' },
    );
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
