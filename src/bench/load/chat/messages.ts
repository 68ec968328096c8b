/**
 * The conversation between the chat orchestrator (chat/run.ts) and a chat load
 * thread (chat/worker.ts), and the thread's live counters in shared memory.
 */
import type { OrderCounts } from './order-checker.ts';
import type { ChatConnSpec } from './layout.ts';
import type { TargetKind } from './wire.ts';

/** Live counters of one chat load thread (Float64 slots, plain stores, read by the orchestrator at will). */
export const K = {
  /** Messages written by this thread's senders. */
  SENT: 0,
  /** Delivery frames read (every copy, duplicates included), by any receiving connection. */
  DELIVERED: 1,
  /** The same for the connections that only receive (the figure to put beside NATS and Redis). */
  RECEIVER_DELIVERED: 2,
  RX_WIRE: 3,
  TX_WIRE: 4,
  ERRORS: 5,
  OPEN: 6,
  /** Rate mode: ms spent spinning to send on time (not load). */
  SPIN_MS: 7,
  /** Answers to messages: `Msg received`, PUBLISH replies, NATS PONGs x messages per PING. */
  ACKED: 8,
  /** Read callbacks (one per read system call): deliveries per read is what the tester's cost hinges on. */
  READS: 9,
} as const;
export const CHAT_FIELDS = 10;

export interface ChatSetup {
  kind: TargetKind;
  endpoints: Array<{ host: string; port: number }>;
  conns: ChatConnSpec[];
  /** Room (subject, channel) names by room number. */
  roomNames: string[];
  /** Handoff with one room: it is the lobby, entered on connect (`!WHO` confirms). */
  lobby: boolean;
  /** Subscribers a PUBLISH should reach in each room (Redis checks its replies against it). */
  receiversPerRoom: number[];
  senders: number;
  rooms: number;
  headerBytes: number;
  sizeBytes: number;
  /** Unacknowledged messages a sender may have. */
  window: number;
  /** NATS: a PING after every this many messages. */
  natsPingEvery: number;
  /** Rate mode: ms between two messages of one sender; 0 = closed loop. */
  intervalMs: number;
  /** Bound on connecting and entering the room, together. */
  setupTimeoutMs: number;
  /** performance.now() at the start of the measurement: stamps carry ns since then. */
  originMs: number;
}

export type ToChatWorker =
  | { type: 'setup'; setup: ChatSetup }
  /** Start sending; `startMs` (performance.now() clock, one for all threads) anchors the rate schedule. */
  | { type: 'start'; startMs: number }
  | { type: 'stop' }
  /** Wait until every receiver has every message sent (`sentAll[sid]`), or nothing came for `quietMs`. */
  | { type: 'drain'; sentAll: number[]; sentCounted: number[]; quietMs: number }
  | { type: 'close' };

export interface ChatDrained extends OrderCounts {
  type: 'drained';
  histogram: string;
  /** Deliveries of window messages expected by this thread's connections, the distinct ones received, the shortfall. */
  expected: number;
  delivered: number;
  lost: number;
  /** The same over every message sent (warm-up included). */
  expectedTotal: number;
  deliveredTotal: number;
  lostTotal: number;
  /** Distinct deliveries beyond what was expected (a checker that cannot tell: far reorders). */
  unexpected: number;
  receiversWithLoss: number;
  /** Connections closed before the end (by the server or by an error). */
  closed: number;
  /** Presence frames read (handoff). */
  presence: number;
  /** Delivery frames read over the whole measurement, copies included. */
  frames: number;
  /** Window deliveries of the least and most served receiver (connections that only receive). */
  receiverMin: number;
  receiverMax: number;
  /** PUBLISH replies whose count of subscribers reached was not the room's receivers. */
  ackMismatches: number;
  drained: boolean;
  drainMs: number;
  errorKinds: Record<string, number>;
  firstError: string;
}

export type FromChatWorker =
  | {
      type: 'ready';
      /** Connections that did not get into the room (connect failed, refused, timed out), by code. */
      failed: number;
      failedKinds: Record<string, number>;
      error: string;
      connectMs: number;
      readyMs: number;
    }
  | { type: 'started' }
  | { type: 'stopped'; senders: Array<{ sid: number; sent: number; counted: number }> }
  | ChatDrained
  | { type: 'closed' };
