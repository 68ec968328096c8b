import type { SharedCountersMemory } from './counters.ts';
import type { ResolvedServerOptions } from './options.ts';

/** What every pool thread receives at start (piscina workerData). */
export interface WorkerBoot {
  options: ResolvedServerOptions;
  counters: SharedCountersMemory;
  /** BroadcastChannel name on which the acceptor says SHUTDOWN_MESSAGE. */
  channel: string;
}

export const SHUTDOWN_MESSAGE = 'shutdown';
