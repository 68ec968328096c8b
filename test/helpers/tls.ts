// A throw-away certificate for tests: made with openssl at test time, in a temp
// dir removed at exit. Nothing secret is committed.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCertificate {
  certFile: string;
  keyFile: string;
  /** The certificate's PEM text: what a client trusts (it is self-signed). */
  ca: string;
  dir: string;
}

let made: TestCertificate | undefined;

/** One self-signed P-256 certificate for localhost per test process. */
export function testCertificate(): TestCertificate {
  if (made) return made;
  const dir = mkdtempSync(join(tmpdir(), 'handoff-tls-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'ignore' },
  );
  made = { certFile, keyFile, ca: readFileSync(certFile, 'utf8'), dir };
  return made;
}

/** The server options that turn TLS on with the test certificate. */
export function tlsServerOptions(): { tlsCert: string; tlsKey: string } {
  const { certFile, keyFile } = testCertificate();
  return { tlsCert: certFile, tlsKey: keyFile };
}
