// The server as a library (`handoff/server`): start one, read its counts, close it.
export { type RunningServer, type ServerStats, startServer } from './server.ts';
export {
  ACK_STYLES,
  type AckStyle,
  MODES,
  type Mode,
  type ResolvedServerOptions,
  resolveServerOptions,
  SERVER_DEFAULTS,
  type ServerOptions,
  STRATEGIES,
  type Strategy,
} from './options.ts';
