/**
 * What a connection goes through in its serving thread before its session
 * starts, when the server asks for it: the PROXY protocol header (read exactly,
 * never a byte past it), then the TLS wrap. With neither, a connection never
 * comes here: ThreadSessions takes the fast path straight away.
 */
import net from 'node:net';
import type tls from 'node:tls';
import { adoptSocket } from '../io/fast-socket.ts';
import type { ServerLog } from '../observe/log.ts';
import { parseProxyHeader, PROXY_FIRST_READ_BYTES, type ProxyAddress } from './proxy-protocol.ts';
import { wrapServerSocket } from './tls.ts';

/** Room for any v1 line and the usual v2 headers; a larger v2 header gets a buffer of its size. */
const PROXY_BUFFER_BYTES = 256;

export interface PreludeConfig {
  /** --proxy-protocol: peers allowed to send a PROXY header (every other peer is closed at once). */
  proxyTrusted: net.BlockList | null;
  secureContext: tls.SecureContext | null;
  /** --handshake-timeout: the PROXY header and the TLS handshake together must be done within this. */
  deadlineMs: number;
  /** The connections of this thread in their prelude: past its limit the oldest is closed. */
  bound: PreludeBound;
  highWaterMarkBytes: number;
  log: ServerLog;
}

/**
 * The connections of one thread still in their prelude (PROXY header, TLS handshake),
 * oldest first, at most `limit()` of them: one more closes the oldest to make room.
 * So peers that stall in their handshake can hold at most that many connection slots,
 * however many of them come, while a client that completes its handshake promptly
 * (milliseconds) gets through.
 */
export class PreludeBound {
  readonly #pending = new Set<() => void>();
  readonly #limit: () => number;

  constructor(limit: () => number) {
    this.#limit = limit;
  }

  get size(): number {
    return this.#pending.size;
  }

  /** Counts a connection in; `drop` closes it if it has to make room. Returns what to call once it is through or gone. */
  enter(drop: () => void): () => void {
    const limit = Math.max(1, this.#limit());
    while (this.#pending.size >= limit) {
      const oldest = this.#pending.values().next().value!;
      this.#pending.delete(oldest);
      oldest();
    }
    this.#pending.add(drop);
    return () => this.#pending.delete(drop);
  }
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
function isTrusted(list: net.BlockList, address: string | undefined): boolean {
  const plain = plainAddress(address);
  if (plain === '') return false;
  return list.check(plain, net.isIPv6(plain) ? 'ipv6' : 'ipv4');
}

/**
 * One connection's prelude: its deadline, its place in the bound, and the socket that
 * carries it now (the accepted one, the PROXY reader, then the TLS socket). Cutting it
 * logs why once and closes that socket.
 */
class Watch {
  socket: net.Socket;
  remote: string;
  /** Set once the prelude was cut (too late, or dropped for room): the reason, logged already. */
  cut: string | null = null;
  inTls = false;
  #over = false;
  readonly #timer: NodeJS.Timeout;
  readonly #leave: () => void;
  readonly #log: ServerLog;

  constructor(socket: net.Socket, config: PreludeConfig) {
    this.socket = socket;
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    this.#log = config.log;
    const seconds = config.deadlineMs / 1000;
    this.#timer = setTimeout(() => {
      const what = this.inTls ? 'TLS handshake' : 'PROXY header';
      this.#cut(`no complete ${what} within ${seconds} s (--handshake-timeout)`);
    }, config.deadlineMs);
    this.#timer.unref(); // a connection in its prelude does not keep a stopping thread alive
    this.#leave = config.bound.enter(() =>
      this.#cut(
        'closed to make room: this thread holds as many connections in their handshake as it may, and this one was the oldest',
      ),
    );
  }

  /** Through (or gone): no deadline, no place in the bound any more. */
  over(): void {
    if (this.#over) return;
    this.#over = true;
    clearTimeout(this.#timer);
    this.#leave();
  }

  #cut(reason: string): void {
    if (this.#over) return;
    this.over();
    this.cut = reason;
    if (this.inTls) this.#log.info('tls-failed', `[TLS] ${this.remote}: ${reason}`, { remote: this.remote });
    else this.#log.info('refused', `[REFUSED] ${this.remote}: ${reason}`, { remote: this.remote, code: 'PROXY' });
    this.socket.destroy();
  }
}

/**
 * Takes a fresh accepted socket through the PROXY header and the TLS wrap, within
 * --handshake-timeout and the thread's bound on connections in their prelude.
 * Resolves null when the connection was closed instead (untrusted peer, no or a
 * bad header, too late, dropped for room); the reason is logged.
 */
export async function runPrelude(socket: net.Socket, config: PreludeConfig): Promise<Prepared | null> {
  if (config.proxyTrusted !== null && !isTrusted(config.proxyTrusted, socket.remoteAddress)) {
    refuse(config.log, socket, `${socket.remoteAddress}:${socket.remotePort}`, 'not a trusted proxy (--proxy-trusted)');
    return null;
  }
  const watch = new Watch(socket, config);
  let current = socket;
  let peer: ProxyAddress | null = null;
  if (config.proxyTrusted !== null) {
    const read = await readProxyHeader(socket, config, watch);
    if ('reason' in read) {
      watch.over();
      // Cut by the deadline or the bound: logged there already.
      if (watch.cut === null) refuse(config.log, read.socket, watch.remote, read.reason);
      else read.socket.destroy();
      return null;
    }
    current = read.socket;
    peer = read.peer;
  }
  if (config.secureContext === null) {
    watch.over();
    return { socket: current, encrypted: false, peer };
  }
  return { socket: handshakeWithin(current, config, peer, watch), encrypted: true, peer };
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
function readProxyHeader(socket: net.Socket, config: PreludeConfig, watch: Watch): Promise<HeaderRead> {
  return new Promise((resolve) => {
    let bytes = Buffer.allocUnsafe(PROXY_BUFFER_BYTES);
    let have = 0;
    let need = PROXY_FIRST_READ_BYTES;
    let settled = false;
    const finish = (result: HeaderRead) => {
      if (settled) return;
      settled = true;
      // Only our own listeners: Node's own (its 'end' handling) stay on a socket that lives on.
      reader.off('end', gone);
      reader.off('close', gone);
      reader.off('error', gone);
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
        // Untrusted bytes: whatever the parser throws costs this connection only.
        try {
          have += bytesRead;
          const parsed = parseProxyHeader(bytes.subarray(0, have));
          if (parsed.kind === 'more') {
            need = parsed.atLeast;
            return true;
          }
          if (parsed.kind === 'invalid') finish({ socket: reader, reason: parsed.reason });
          else finish({ socket: reader, peer: parsed.header.source });
        } catch (err) {
          finish({ socket: reader, reason: `internal error reading the PROXY header: ${(err as Error).message}` });
        }
        return false; // stop: the rest is not ours
      },
      writableHighWaterMark: config.highWaterMarkBytes,
    });
    watch.socket = reader;
    const gone = () => finish({ socket: reader, reason: 'closed before its PROXY header was complete' });
    reader.on('end', gone);
    reader.on('close', gone);
    reader.on('error', gone);
  });
}

/** Wraps `socket` in TLS; a handshake that fails or is cut (deadline, bound) closes it (logged). */
function handshakeWithin(
  socket: net.Socket,
  config: PreludeConfig,
  peer: ProxyAddress | null,
  watch: Watch,
): tls.TLSSocket {
  const secure = wrapServerSocket(socket, config.secureContext!, config.highWaterMarkBytes);
  if (peer) watch.remote = `${peer.address}:${peer.port}`;
  watch.socket = secure;
  watch.inTls = true;
  const failed = (err: Error & { reason?: string; code?: string }) => {
    watch.over();
    // OpenSSL's message is several lines with source paths; its reason is the words that matter.
    const why = err.reason ?? err.message.split('\n')[0];
    config.log.info('tls-failed', `[TLS] ${watch.remote}: handshake failed: ${why}`, {
      remote: watch.remote,
      code: err.code,
    });
  };
  secure.once('error', failed);
  secure.once('secure', () => {
    watch.over();
    secure.off('error', failed);
  });
  secure.once('close', () => watch.over());
  return secure;
}
