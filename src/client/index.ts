export {
  type CloseInfo,
  Client,
  connect,
  ERR_CONNECT,
  ERR_CONNECTION_CLOSED,
  ERR_REPLY_TIMEOUT,
  ERR_UNEXPECTED_REPLY,
} from './client.ts';
export {
  CLIENT_ACK_STYLES,
  CLIENT_DEFAULTS,
  type ClientAckStyle,
  type ClientOptions,
  InvalidOptionError,
  type ResolvedClientOptions,
  resolveClientOptions,
} from './options.ts';
export { runRepl, type ReplOptions } from './repl.ts';
