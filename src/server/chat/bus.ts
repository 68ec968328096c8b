/**
 * The chat bus: how the threads of one server (and the Redis bridge, when there
 * is one) tell each other about members and hand each other deliveries. One
 * BroadcastChannel; every participant posts on it in order, so what one
 * participant posts reaches every other in the order posted (per-sender order
 * of deliveries, and membership before the messages that follow it).
 *
 * Everything one participant has for the others in one event-loop turn goes out
 * together: one `events` message with every membership change, and one
 * `deliver` per room with the frames of every message sent to that room,
 * built once (header included) and written as they are by the receivers.
 * results/published/thread-hop.md has the measurement behind the choice of transport.
 */
import { BroadcastChannel } from 'node:worker_threads';

/** The participant id of the Redis bridge (threads are known by their threadId, 0 and up). */
export const BRIDGE_ID = -1;

export type MemberEvent =
  /** `id` is now in `room` (it left `previous`, if given), known as `name`. */
  | { kind: 'enter'; id: number; name: string; room: string; previous?: string }
  /** `id` is gone (closed, disconnected, dropped) from `room`. */
  | { kind: 'leave'; id: number; room: string }
  | { kind: 'rename'; id: number; name: string };

export type BusMessage =
  /** Membership changes of `src`'s members; the last one is number `seq` of `src`. */
  | { type: 'events'; src: number; seq: number; events: MemberEvent[] }
  /** `src` has applied the events of each participant up to the given seq. */
  | { type: 'ack'; src: number; seqs: Array<[participant: number, seq: number]> }
  /** Frames for the members of `room` served by the participants in `to`. */
  | { type: 'deliver'; src: number; room: string; to: number[]; count: number; frames: Uint8Array }
  /** A participant that has just started asks the others who they serve. */
  | { type: 'hello'; src: number }
  /** The answer to a hello: `src`'s own members. */
  | { type: 'roster'; src: number; to: number; seq: number; members: Array<[id: number, name: string, room: string]> }
  /**
   * Redis mode: who is in `room` on every server, but `member` (the asker), answered by the
   * bridge with `who-reply` (null names: Redis could not be asked).
   */
  | { type: 'who'; src: number; request: number; room: string; member: number }
  | { type: 'who-reply'; src: number; to: number; request: number; names: string[] | null };

/**
 * The failure boundary of a participant's bus handler: whatever its handling of one message
 * throws is handed here with that message, and the participant goes on with the next.
 */
export type BusFailure = (err: unknown, message: BusMessage) => void;

export class Bus {
  readonly id: number;
  readonly #channel: BroadcastChannel;

  constructor(name: string, id: number, onMessage: (message: BusMessage) => void, onFailure: BusFailure) {
    this.id = id;
    this.#channel = new BroadcastChannel(name);
    this.#channel.onmessage = (event) => {
      const message = (event as { data: BusMessage }).data;
      try {
        onMessage(message);
      } catch (err) {
        onFailure(err, message);
      }
    };
    // The thread's sockets keep it alive; the bus alone must not.
    this.#channel.unref();
  }

  post(message: BusMessage): void {
    this.#channel.postMessage(message);
  }

  close(): void {
    this.#channel.close();
  }
}
