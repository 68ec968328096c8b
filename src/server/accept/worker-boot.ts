import type net from 'node:net';
import type { SharedCountersMemory } from '../observe/counters.ts';
import type { ResolvedServerOptions } from '../options.ts';
import type { TlsMaterial } from '../prelude/tls.ts';

/** What every pool thread receives at start (piscina workerData). */
export interface WorkerBoot {
  options: ResolvedServerOptions;
  counters: SharedCountersMemory;
  /** BroadcastChannel between the main thread and every pool thread (ControlMessage). */
  channel: string;
  /**
   * Strategy reuseport: every thread listens on the port itself, from its start; the first
   * one binds it and publishes the port it got here (reuseport-group.ts). Null: handoff.
   */
  reuseport: SharedArrayBuffer | null;
  /** Chat mode: the name of the chat bus (a BroadcastChannel), and whether a Redis bridge is on it. */
  chat: { busName: string; bridge: boolean } | null;
  /** TLS: the certificate and key, read once by the main thread. */
  tls: TlsMaterial | null;
}

/**
 * On the control channel. The main thread says `shutdown`, and `gone` when a thread
 * has died; each thread says `ready`, later `stopped`.
 */
export type ControlMessage =
  | { type: 'shutdown' }
  | { type: 'stopped' | 'gone'; threadId: number }
  /** `address`: where the thread listens (strategy reuseport). */
  | { type: 'ready'; threadId: number; address: net.AddressInfo | null };

/**
 * Test-only fault injection (injected-faults.ts): a message with exactly this payload makes our
 * own code throw while serving that connection, at the place CRASH_AT_ENV names (default: in the
 * read callback). The failure boundaries must cost that connection only.
 */
export const CRASH_PAYLOAD_ENV = 'HANDOFF_TEST_CRASH_PAYLOAD';
/** Test-only: where CRASH_PAYLOAD_ENV's fault is thrown: `read`, `sweep`, `timer`, or `adopt` (see injected-faults.ts). */
export const CRASH_AT_ENV = 'HANDOFF_TEST_CRASH_AT';
/**
 * Test-only fault injection: a message with exactly this payload ends its serving thread (a throw
 * outside every failure boundary), the way a bug in Node or a native module would.
 */
export const KILL_THREAD_PAYLOAD_ENV = 'HANDOFF_TEST_KILL_THREAD_PAYLOAD';

/**
 * Test-only fault injection: every chat thread applies what the bus brings this many
 * milliseconds late (a slow thread), read once when the thread starts.
 */
export const BUS_DELAY_ENV = 'HANDOFF_TEST_BUS_DELAY_MS';

/**
 * Test-only fault injection: the chat bus handler of every thread, and the Redis bridge's
 * handler of what other servers publish, throw when what they handle holds these bytes.
 */
export const BUS_FAULT_ENV = 'HANDOFF_TEST_BUS_FAULT';

/** BUS_FAULT_ENV's bytes, read once by whoever calls it at start; null in real use. */
export function busFaultMarker(): Buffer | null {
  const text = process.env[BUS_FAULT_ENV];
  return text ? Buffer.from(text, 'utf8') : null;
}

/**
 * Test-only: the Redis bridge's heartbeat, liveness, command and confirmation times are
 * multiplied by this (e.g. 0.2), so that faults longer than a liveness period take
 * seconds in a test. Read once when the bridge starts.
 */
export const REDIS_TIME_SCALE_ENV = 'HANDOFF_TEST_REDIS_TIME_SCALE';

/** The name of the pool task that serves one transferred connection (worker.ts exports it). */
export const SERVE_CONNECTION_TASK = 'serveConnection';
