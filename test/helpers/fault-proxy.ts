// A TCP pass-through between a server under test and a real service (redis-server), whose
// behaviour can be switched while connections are open, to play the network faults a
// server must survive. Pure Node, loopback only, closed by t.after.
//
//   pass   bytes go through, in order
//   stall  nothing goes through and nothing is lost: reads stop, so the bytes wait in the
//          kernel's buffers (a peer or a link that hangs), and flow again on `pass`
//   drop   bytes are read and thrown away, connections stay open (a firewall that starts
//          dropping packets); on the next `pass` those connections are reset, as TCP would
//          eventually do to a stream with a hole in it
//   reset  every open connection is reset, and new ones are reset as soon as accepted
//   slow   every chunk is held `slowMs` before it goes on, in order
import net from 'node:net';
import type { TestContext } from 'node:test';

export type FaultMode = 'pass' | 'stall' | 'drop' | 'reset' | 'slow';

/** One direction of one proxied connection: chunks from `from` are written to `to` as the mode says. */
class Direction {
  readonly #proxy: FaultProxy;
  readonly #pair: Pair;
  readonly #from: net.Socket;
  readonly #to: net.Socket;
  /** Chunks read and not yet written, each with the time it may go. */
  readonly #queue: Array<{ at: number; chunk: Buffer }> = [];
  #timer: NodeJS.Timeout | undefined;
  /** `from` has ended: end `to` once the queue is written. */
  #ended = false;

  constructor(proxy: FaultProxy, pair: Pair, from: net.Socket, to: net.Socket) {
    this.#proxy = proxy;
    this.#pair = pair;
    this.#from = from;
    this.#to = to;
    from.on('data', (chunk: Buffer) => this.#onChunk(chunk));
    from.on('end', () => this.#endWhenDrained());
  }

  #onChunk(chunk: Buffer): void {
    const mode = this.#proxy.mode;
    if (mode === 'drop') {
      this.#pair.broken = true;
      return;
    }
    const delay = mode === 'slow' ? this.#proxy.slowMs : 0;
    const last = this.#queue.at(-1)?.at ?? 0;
    this.#queue.push({ at: Math.max(performance.now() + delay, last), chunk });
    this.pump();
  }

  /** Writes what may go now; waits for the rest. Nothing goes while the proxy stalls. */
  pump(): void {
    clearTimeout(this.#timer);
    if (this.#proxy.mode === 'stall') {
      this.#from.pause();
      return;
    }
    this.#from.resume();
    const now = performance.now();
    while (this.#queue.length > 0 && this.#queue[0]!.at <= now) {
      if (!this.#to.destroyed) this.#to.write(this.#queue.shift()!.chunk);
      else this.#queue.shift();
    }
    if (this.#queue.length > 0) {
      this.#timer = setTimeout(() => this.pump(), this.#queue[0]!.at - now);
    } else if (this.#ended) {
      this.#to.end();
    }
  }

  #endWhenDrained(): void {
    this.#ended = true;
    if (this.#queue.length === 0) this.#to.end();
  }

  stop(): void {
    clearTimeout(this.#timer);
  }
}

/**
 * RST where the socket is connected; a plain destroy while it still connects (resetting a
 * handle that is not connected fails with EINVAL, and leaves a handle behind that keeps the
 * process from exiting).
 */
function resetSocket(socket: net.Socket): void {
  if (socket.destroyed) return;
  if (socket.connecting || socket.readyState !== 'open') socket.destroy();
  else socket.resetAndDestroy();
}

class Pair {
  broken = false;
  readonly client: net.Socket;
  readonly upstream: net.Socket;
  readonly directions: Direction[];

  constructor(proxy: FaultProxy, client: net.Socket, target: { host: string; port: number }) {
    this.client = client;
    this.upstream = net.connect(target);
    this.directions = [
      new Direction(proxy, this, client, this.upstream),
      new Direction(proxy, this, this.upstream, client),
    ];
    for (const socket of [client, this.upstream]) {
      socket.on('error', () => this.reset());
      socket.on('close', () => this.reset());
    }
  }

  /** Both ends reset (RST), not closed: what a peer sees when the connection is torn down under it. */
  reset(): void {
    for (const d of this.directions) d.stop();
    for (const socket of [this.client, this.upstream]) resetSocket(socket);
  }
}

export class FaultProxy {
  mode: FaultMode = 'pass';
  slowMs = 200;
  readonly #server: net.Server;
  readonly #target: { host: string; port: number };
  readonly #pairs = new Set<Pair>();

  private constructor(target: { host: string; port: number }) {
    this.#target = target;
    this.#server = net.createServer((client) => this.#accept(client));
  }

  /** A proxy on a free loopback port in front of `target`, closed after the test. */
  static async start(t: TestContext, target: { host?: string; port: number }): Promise<FaultProxy> {
    const proxy = new FaultProxy({ host: target.host ?? '127.0.0.1', port: target.port });
    await new Promise<void>((resolve) => proxy.#server.listen(0, '127.0.0.1', resolve));
    t.after(() => proxy.close());
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  /** The proxy as a Redis URL. */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Connections open through the proxy now. */
  get connections(): number {
    return this.#pairs.size;
  }

  /** Switches the behaviour; `slowMs` is the delay of `slow`. */
  set(mode: FaultMode, slowMs = this.slowMs): void {
    const from = this.mode;
    this.mode = mode;
    this.slowMs = slowMs;
    for (const pair of [...this.#pairs]) {
      if (mode === 'reset' || (mode !== 'drop' && from === 'drop' && pair.broken)) pair.reset();
      else for (const d of pair.directions) d.pump();
    }
  }

  #accept(client: net.Socket): void {
    if (this.mode === 'reset') {
      client.on('error', () => {});
      resetSocket(client);
      return;
    }
    const pair = new Pair(this, client, this.#target);
    if (this.mode === 'drop') pair.broken = true;
    this.#pairs.add(pair);
    client.on('close', () => this.#pairs.delete(pair));
    for (const d of pair.directions) d.pump();
  }

  /** Resets every connection and waits until each socket has closed, then stops listening. */
  async close(): Promise<void> {
    this.mode = 'reset';
    const sockets = [...this.#pairs].flatMap((pair) => [pair.client, pair.upstream]);
    const closed = sockets.map((s) => (s.closed ? null : new Promise((resolve) => s.once('close', resolve))));
    for (const pair of this.#pairs) pair.reset();
    await Promise.all(closed);
    await new Promise((resolve) => this.#server.close(resolve));
  }
}
