/**
 * What the thread-hop micro-benchmark's three threads share: the case, the frame
 * the producer sends, the slots of the control SharedArrayBuffer, and the messages
 * between the main thread and the two workers.
 */
import type { MessagePort } from 'node:worker_threads';

export type Transport = 'port' | 'broadcast' | 'sab-ring';
export type Shape = 'bytes' | 'bytes-transfer' | 'objects';

export interface CaseSpec {
  transport: Transport;
  shape: Shape;
  n: number;
}

export interface Entry {
  room: string;
  from: string;
  payload: Uint8Array;
}

// ---------------------------------------------------------------- the frame

const HEADER_BYTES = 64;
export const ROOM = 'lobby';
export const FROM = '127.0.0.1:54321';
const PREFIX = `!MSG ${ROOM} ${FROM} `;
export const TEXT_BYTES = 16;
const PAYLOAD_BYTES = PREFIX.length + TEXT_BYTES;
/** 64 + 27 + 16 = 107 bytes. */
export const FRAME_BYTES = HEADER_BYTES + PAYLOAD_BYTES;
/** The stamp (float64, ms) sits in the 16 text bytes of the first frame. */
export const STAMP_OFFSET = HEADER_BYTES + PREFIX.length;

/** One frame as the server writes it: decimal length padded with spaces to 64 bytes, then the payload. */
export function makeFrame(): Uint8Array {
  const text = 'hello, lobby 42!'.slice(0, TEXT_BYTES).padEnd(TEXT_BYTES, '.');
  const frame = new TextEncoder().encode(String(PAYLOAD_BYTES).padEnd(HEADER_BYTES, ' ') + PREFIX + text);
  if (frame.length !== FRAME_BYTES) throw new Error(`frame is ${frame.length} bytes, expected ${FRAME_BYTES}`);
  return frame;
}

// ---------------------------------------------------------------- shared control block

/** Int32 slots of the control SharedArrayBuffer. */
export const ACK = 0; // batches B has consumed
export const ACK_WAKE_AT = 1; // while A is parked on ACK: the count at which B must notify it (0 = nobody parked)
export const HEAD = 2; // ring: producer's byte position (mod 2^32)
export const TAIL = 3; // ring: consumer's byte position (mod 2^32)
export const CONSUMER_WAITING = 4; // ring: 1 while B is parked on HEAD
export const PRODUCER_WAITING = 5; // ring: 1 while A is parked on TAIL (ring full)
export const CONTROL_SLOTS = 8;

export interface WorkerInit {
  role: 'A' | 'B';
  spec: CaseSpec;
  control: SharedArrayBuffer;
  ring: SharedArrayBuffer | null;
  channelName: string;
  port: MessagePort | null;
  window: number;
}

/** What a worker answers to a mark. */
export interface Mark {
  t: number; // ms, performance.timeOrigin + performance.now()
  cpuUs: number; // process.threadCpuUsage(), user + system
  batches: number; // A: sent, B: received
  frames: number;
  notifies: number; // Atomics.notify calls made by this thread
  ringFullWaits: number; // A only
}

export type ToWorker =
  | { type: 'run' }
  | { type: 'mark' }
  | { type: 'stop' }
  | { type: 'latency'; samples: number; gapMs: number }
  | { type: 'latencies' };

export type FromWorker =
  | { type: 'ready'; timeOrigin: number }
  | ({ type: 'mark' } & Mark)
  | { type: 'stopped'; sent: number }
  | { type: 'latency-done' }
  | { type: 'latencies'; us: number[] };

export function clock(): number {
  return performance.timeOrigin + performance.now();
}

export function threadCpuUs(): number {
  const u = process.threadCpuUsage();
  return u.user + u.system;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
