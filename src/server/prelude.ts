/**
 * What a connection goes through in its serving thread before its session
 * starts, when the server asks for it: the PROXY protocol header (read exactly,
 * never a byte past it), then the TLS wrap. With neither, a connection never
 * comes here: ThreadSessions takes the fast path straight away.
 */
import net from 'node:net';
import type tls from 'node:tls';
import { adoptSocket } from './fast-socket.ts';
import type { ServerLog } from './log.ts';
import { parseProxyHeader, PROXY_FIRST_READ_BYTES, type ProxyAddress } from './proxy-protocol.ts';
import { wrapServerSocket } from './tls.ts';

/**
 * A TLS handshake is several round trips and public-key work: it gets at least this
 * long, however short --frame-timeout is (a busy thread must not cut off a client that
 * is merely slow to finish a handshake).
 */
const HANDSHAKE_AT_LEAST_MS = 2_000;

/** Room for any v1 line and the usual v2 headers; a larger v2 header gets a buffer of its size. */
const PROXY_BUFFER_BYTES = 256;

export interface PreludeConfig {
  /** --proxy-protocol: peers allowed to send a PROXY header (every other peer is closed at once). */
  proxyTrusted: net.BlockList | null;
  secureContext: tls.SecureContext | null;
  /** The PROXY header, and then the TLS handshake (at least HANDSHAKE_AT_LEAST_MS), must each be done within this. */
  deadlineMs: number;
  highWaterMarkBytes: number;
  log: ServerLog;
}

/** A connection ready for its session. */
export interface Prepared {
  /** A TLSSocket, or (plain) a socket still to be adopted for the fast read path. */
  socket: net.Socket;
  encrypted: boolean;
  /** The client's address from the PROXY header; null: the socket's own peer. */
  peer: ProxyAddress | null;
}

/** `::ffff:1.2.3.4` (an IPv4 client on a dual-stack socket) as `1.2.3.4`. */
export function plainAddress(address: string | undefined): string {
  if (address === undefined) return '';
  return address.startsWith('::ffff:') && net.isIPv4(address.slice(7)) ? address.slice(7) : address;
}

/** Parses `--proxy-trusted` entries (`10.0.0.0/8`, `::1`) into a list to check peers against. */
export function trustedPeers(cidrs: readonly string[]): net.BlockList {
  const list = new net.BlockList();
  for (const entry of cidrs) {
    const [address, prefix] = entry.split('/') as [string, string | undefined];
    const family = net.isIPv6(address) ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(prefix), family);
  }
  return list;
}

/** Whether `address` (as the socket reports it) is in `list`. */
export function isTrusted(list: net.BlockList, address: string | undefined): boolean {
  const plain = plainAddress(address);
  if (plain === '') return false;
  return list.check(plain, net.isIPv6(plain) ? 'ipv6' : 'ipv4');
}

/**
 * Takes a fresh accepted socket through the PROXY header and the TLS wrap.
 * Resolves null when the connection was closed instead (untrusted peer, no or a
 * bad header, too late); the reason is logged.
 */
export async function runPrelude(socket: net.Socket, config: PreludeConfig): Promise<Prepared | null> {
  let current = socket;
  let peer: ProxyAddress | null = null;
  if (config.proxyTrusted !== null) {
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    if (!isTrusted(config.proxyTrusted, socket.remoteAddress)) {
      refuse(config.log, socket, remote, 'not a trusted proxy (--proxy-trusted)');
      return null;
    }
    const read = await readProxyHeader(socket, config);
    if ('reason' in read) {
      refuse(config.log, read.socket, remote, read.reason);
      return null;
    }
    current = read.socket;
    peer = read.peer;
  }
  if (config.secureContext === null) return { socket: current, encrypted: false, peer };
  return { socket: handshakeWithin(current, config, peer), encrypted: true, peer };
}

function refuse(log: ServerLog, socket: net.Socket, remote: string, reason: string): void {
  log.info('refused', `[REFUSED] ${remote}: ${reason}`, { remote, code: 'PROXY' });
  socket.destroy();
}

type HeaderRead = { socket: net.Socket; peer: ProxyAddress | null } | { socket: net.Socket; reason: string };

/**
 * Reads the PROXY header, asking each read for no more bytes than the header
 * still needs at least: whatever the client sent after it stays in the kernel
 * for the session (or the TLS handshake) to read.
 */
function readProxyHeader(socket: net.Socket, config: PreludeConfig): Promise<HeaderRead> {
  return new Promise((resolve) => {
    let bytes = Buffer.allocUnsafe(PROXY_BUFFER_BYTES);
    let have = 0;
    let need = PROXY_FIRST_READ_BYTES;
    let settled = false;
    const finish = (result: HeaderRead) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reader.removeAllListeners();
      resolve(result);
    };
    const reader: net.Socket = adoptSocket(socket, {
      buffer: () => {
        if (have + need > bytes.length) {
          const larger = Buffer.allocUnsafe(have + need);
          bytes.copy(larger, 0, 0, have);
          bytes = larger;
        }
        return bytes.subarray(have, have + need);
      },
      callback: (bytesRead) => {
        have += bytesRead;
        const parsed = parseProxyHeader(bytes.subarray(0, have));
        if (parsed.kind === 'more') {
          need = parsed.atLeast;
          return true;
        }
        if (parsed.kind === 'invalid') finish({ socket: reader, reason: parsed.reason });
        else finish({ socket: reader, peer: parsed.header.source });
        return false; // stop: the rest is not ours
      },
      writableHighWaterMark: config.highWaterMarkBytes,
    });
    const gone = () => finish({ socket: reader, reason: 'closed before its PROXY header was complete' });
    reader.on('end', gone);
    reader.on('close', gone);
    reader.on('error', gone);
    const timer = setTimeout(
      () => finish({ socket: reader, reason: `no complete PROXY header within ${config.deadlineMs / 1000} s` }),
      config.deadlineMs,
    );
    timer.unref(); // a connection still in its header does not keep a stopping thread alive
  });
}

/** Wraps `socket` in TLS; a handshake that fails or takes too long closes it (logged). */
function handshakeWithin(socket: net.Socket, config: PreludeConfig, peer: ProxyAddress | null): tls.TLSSocket {
  const remote = peer ? `${peer.address}:${peer.port}` : `${socket.remoteAddress}:${socket.remotePort}`;
  const secure = wrapServerSocket(socket, config.secureContext!, config.highWaterMarkBytes);
  const deadlineMs = Math.max(config.deadlineMs, HANDSHAKE_AT_LEAST_MS);
  const timer = setTimeout(() => {
    config.log.info('tls-failed', `[TLS] ${remote}: no TLS handshake within ${deadlineMs / 1000} s`, { remote });
    secure.destroy();
  }, deadlineMs);
  timer.unref();
  const failed = (err: Error & { reason?: string; code?: string }) => {
    clearTimeout(timer);
    // OpenSSL's message is several lines with source paths; its reason is the words that matter.
    const why = err.reason ?? err.message.split('\n')[0];
    config.log.info('tls-failed', `[TLS] ${remote}: handshake failed: ${why}`, { remote, code: err.code });
  };
  secure.once('error', failed);
  secure.once('secure', () => {
    clearTimeout(timer);
    secure.off('error', failed);
  });
  secure.once('close', () => clearTimeout(timer));
  return secure;
}
