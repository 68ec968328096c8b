/**
 * TLS for the server: the certificate and key are read once at start-up (a file
 * that cannot be used stops the start with ERR_TLS_FILE), their PEM text goes to
 * every thread, and each thread builds its secure context once. A session's
 * socket is wrapped in the thread that serves it, after the hand-off: the
 * acceptor never reads.
 */
import type net from 'node:net';
import tls from 'node:tls';
import { readPemFile } from '../../options/pem-file.ts';
import { TlsFileError } from '../../protocol/index.ts';

/** The server's certificate chain and key, as PEM text. */
export interface TlsMaterial {
  cert: string;
  key: string;
}

/** Reads and checks the certificate and key (they must parse and belong together). */
export function loadTlsMaterial(certFile: string, keyFile: string): TlsMaterial {
  const material = { cert: readPemFile(certFile, 'TLS certificate'), key: readPemFile(keyFile, 'TLS key') };
  try {
    tls.createSecureContext(material);
  } catch (err) {
    throw new TlsFileError(`cannot use ${certFile} with ${keyFile}: ${(err as Error).message}`, { cause: err });
  }
  return material;
}

/** One per thread: every connection of the thread shares it. */
export function createServerContext(material: TlsMaterial): tls.SecureContext {
  return tls.createSecureContext(material);
}

/**
 * Wraps an accepted socket (fresh, or just past its PROXY header) as the server
 * side of a TLS connection. The handshake starts on the next tick; what the
 * session writes before it completes is sent once it has.
 */
export function wrapServerSocket(
  socket: net.Socket,
  secureContext: tls.SecureContext,
  highWaterMarkBytes: number,
): tls.TLSSocket {
  // `highWaterMark` (both directions) is honoured by TLSSocket but missing from @types/node.
  const options = { isServer: true, secureContext, highWaterMark: highWaterMarkBytes } as tls.TLSSocketOptions;
  return new tls.TLSSocket(socket, options);
}
