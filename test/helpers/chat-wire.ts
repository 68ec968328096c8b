// A raw chat-mode peer for black-box server tests: frames are split into replies and
// deliveries exactly as PROTOCOL.md says (deliveries are the frames whose payload starts
// with `!MSG `, `!JOINED ` or `!LEFT `), with no src/client code involved.
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { DeliveryKind, deliveryKind, parseDelivery } from '../../src/protocol/index.ts';
import { connect, type WireClient } from './wire.ts';

export function isDelivery(payload: Buffer): boolean {
  return deliveryKind(payload) !== null;
}

/** `!MSG <room> <from> <text>` -> its parts (text as bytes), or null for any other frame. */
export function parseMessage(payload: Buffer): { room: string; from: string; text: Buffer } | null {
  if (deliveryKind(payload) !== DeliveryKind.MESSAGE) return null;
  const d = parseDelivery(payload);
  assert.ok(d, `a well-formed !MSG: ${payload.toString('latin1')}`);
  return { room: d.room, from: d.from, text: d.bytes };
}

export class ChatPeer {
  readonly wire: WireClient;
  readonly replies: Buffer[] = [];
  readonly deliveries: Buffer[] = [];
  /** `ip:port` as the server names this connection before any !NICK. */
  readonly address: string;
  #taken = 0;

  private constructor(wire: WireClient) {
    this.wire = wire;
    this.address = `127.0.0.1:${wire.socket.localPort}`;
  }

  /**
   * Connects; with `settle` (the default) also waits for the reply to a `!WHO`, so
   * that the connection is in the lobby on every thread when this resolves.
   */
  static async connect(
    t: TestContext,
    server: Parameters<typeof connect>[1],
    options: {
      settle?: boolean;
      keepDeliveries?: boolean;
      onDelivery?: (payload: Buffer) => void;
      /** Sent first: a PROXY header. */
      prefix?: Buffer;
      /** The server's --header-bytes (default 64). */
      headerBytes?: number;
    } = {},
  ): Promise<ChatPeer> {
    let peer: ChatPeer | undefined;
    const keep = options.keepDeliveries ?? true;
    const wire = await connect(t, server, {
      ...(options.prefix ? { prefix: options.prefix } : {}),
      ...(options.headerBytes ? { headerBytes: options.headerBytes } : {}),
      keepFrames: false,
      onFrame: (payload) => {
        if (isDelivery(payload)) {
          if (keep) peer!.deliveries.push(payload);
          options.onDelivery?.(payload);
        } else {
          peer!.replies.push(payload);
        }
      },
    });
    peer = new ChatPeer(wire);
    if (options.settle ?? true) await peer.request('!WHO');
    return peer;
  }

  /** Sends one frame without waiting for anything. */
  send(payload: string | Uint8Array): Promise<void> {
    return this.wire.send(payload);
  }

  /** The next reply not yet taken, as text. */
  async nextReply(timeoutMs = 5000): Promise<string> {
    const target = this.#taken + 1;
    await this.wire.until(() => this.replies.length >= target, `reply #${target}`, timeoutMs);
    return this.replies[this.#taken++]!.toString('utf8');
  }

  /** Sends `payload` and resolves with its reply (replies come in order, so the ones before must be taken). */
  async request(payload: string | Uint8Array, timeoutMs = 5000): Promise<string> {
    await this.send(payload);
    return this.nextReply(timeoutMs);
  }

  /** Deliveries as text. */
  texts(): string[] {
    return this.deliveries.map((d) => d.toString('utf8'));
  }

  /** Waits until a delivery equal to `text` (or satisfying the predicate) has arrived. */
  async waitDelivery(match: string | ((payload: Buffer) => boolean), timeoutMs = 5000): Promise<Buffer> {
    const test = typeof match === 'string' ? (p: Buffer) => p.toString('utf8') === match : match;
    await this.wire.until(() => this.deliveries.some(test), `a delivery ${String(match)}`, timeoutMs);
    return this.deliveries.find(test)!;
  }

  /** The members `!WHO` lists (sorted). */
  async who(): Promise<{ room: string; members: string[] }> {
    const reply = await this.request('!WHO');
    const [ok, word, room, ...members] = reply.split(' ');
    assert.equal(`${ok} ${word}`, '!OK WHO', reply);
    return { room: room!, members: members.sort() };
  }
}
