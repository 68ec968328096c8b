import type { ResolvedServerOptions, ServerOptions } from './options.ts';

/** Cumulative counters since start; `workers` has one entry per thread that serves connections. */
export interface ServerStats {
  activeConnections: number;
  /** Connections accepted and served (refused ones are not counted here). */
  totalConnections: number;
  /** Connections refused with SERVER_FULL. */
  refusedConnections: number;
  /** Complete frames received (each is answered). */
  messages: number;
  bytesIn: number;
  bytesOut: number;
  workers: Array<{ activeConnections: number; totalConnections: number; messages: number }>;
}

export interface RunningServer {
  readonly host: string;
  readonly port: number;
  readonly options: ResolvedServerOptions;
  stats(): ServerStats;
  /** Graceful stop: no new connections, SHUTTING_DOWN to each open one, flush, close. */
  close(): Promise<void>;
}

export async function startServer(_options: ServerOptions = {}): Promise<RunningServer> {
  throw new Error('not implemented yet');
}
