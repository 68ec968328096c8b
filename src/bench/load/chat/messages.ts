/**
 * The conversation between the chat orchestrator (chat/run.ts) and a chat load
 * thread (chat/worker.ts), and the thread's live counters in shared memory.
 */
import type { OrderCounts } from './order-checker.ts';
import type { ChatConnSpec } from './layout.ts';
import type { LoadSetup } from '../messages.ts';
import type { ResolvedChatOptions } from '../../options.ts';
import type { SettledCounts } from '../thread-kit.ts';
import type { TargetKind } from '../../results/chat-result.ts';

/** Live counters of one chat load thread (Float64 slots, plain stores, read by the orchestrator at will). */
export const K = {
  /** Messages written by this thread's senders. */
  sent: 0,
  /** Delivery frames read (every copy, duplicates included), by any receiving connection. */
  deliveries: 1,
  /** The same for the connections that only receive (the figure to put beside NATS and Redis). */
  receiverDeliveries: 2,
  rxWire: 3,
  txWire: 4,
  errors: 5,
  open: 6,
  /** Rate mode: ms spent spinning to send on time (not load). */
  spinMs: 7,
  /** Answers to messages: `Msg received`, PUBLISH replies, NATS PONGs x messages per PING. */
  acked: 8,
  /** Read callbacks (one per read system call): deliveries per read is what the tester's cost hinges on. */
  reads: 9,
} as const;
export type ChatCounters = Record<keyof typeof K, number>;
export const CHAT_FIELDS = 10;

/** What one chat load thread is told for one measurement (besides the scenario's senders, rooms, window...). */
export interface ChatSetup
  extends
    Pick<LoadSetup, 'headerBytes' | 'sizeBytes' | 'intervalMs'>,
    Pick<ResolvedChatOptions, 'senders' | 'rooms' | 'window' | 'natsPingEvery'> {
  kind: TargetKind;
  endpoints: Array<{ host: string; port: number }>;
  conns: ChatConnSpec[];
  /** Room (subject, channel) names by room number. */
  roomNames: string[];
  /** Handoff with one room: it is the lobby, entered on connect (`!WHO` confirms). */
  lobby: boolean;
  /** Subscribers a PUBLISH should reach in each room (Redis checks its replies against it). */
  receiversPerRoom: number[];
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

/** One receiving connection's accounting after the drain. */
export interface ReceiverTally {
  /** Deliveries of window messages it should have (every other sender of its room) and the distinct ones it got. */
  expected: number;
  delivered: number;
  /** The same over every message sent, warm-up included. */
  expectedTotal: number;
  deliveredTotal: number;
  /** Delivery frames it read inside the window (fairness). */
  inWindow: number;
  /** Only receives (not a handoff sender). */
  receiverOnly: boolean;
  /** Still open at the end. */
  open: boolean;
}

export interface ChatDrained extends OrderCounts {
  type: 'drained';
  histogram: string;
  receivers: ReceiverTally[];
  /** Presence frames read (handoff). */
  presence: number;
  /** Delivery frames read over the whole measurement, copies included. */
  frames: number;
  /** PUBLISH replies whose count of subscribers reached was not the room's receivers. */
  ackMismatches: number;
  drained: boolean;
  drainMs: number;
  errorKinds: Record<string, number>;
  firstError: string;
}

export type FromChatWorker =
  /** Every connection in the room, or given up on (SettledCounts: which, by code). */
  | ({ type: 'ready'; connectMs: number; readyMs: number } & SettledCounts)
  | { type: 'started' }
  | { type: 'stopped'; senders: Array<{ sid: number; sent: number; counted: number }> }
  | ChatDrained
  | { type: 'closed' };
