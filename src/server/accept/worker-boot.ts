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

/** The name of the pool task that serves one transferred connection (worker.ts exports it). */
export const SERVE_CONNECTION_TASK = 'serveConnection';
