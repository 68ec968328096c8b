// A throw-away certificate for tests: the bench's own (made with openssl at test time, in a
// temp dir removed at exit). Nothing secret is committed.
import { dirname } from 'node:path';
import { throwawayCertificate, type ThrowawayCertificate } from '../../src/bench/load/throwaway-cert.ts';

export interface TestCertificate extends ThrowawayCertificate {
  /** The temp dir holding it (a test may put other files there). */
  dir: string;
}

/** One self-signed P-256 certificate for localhost and 127.0.0.1 per test process. */
export function testCertificate(): TestCertificate {
  const made = throwawayCertificate();
  return { ...made, dir: dirname(made.certFile) };
}

/** The server options that turn TLS on with the test certificate. */
export function tlsServerOptions(): { tlsCert: string; tlsKey: string } {
  const { certFile, keyFile } = testCertificate();
  return { tlsCert: certFile, tlsKey: keyFile };
}
