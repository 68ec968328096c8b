import type { Argv, CommandModule } from 'yargs';
import { secondsToMs } from '../options/validators.ts';
import {
  CLIENT_ACK_STYLES,
  CLIENT_DEFAULTS,
  type ClientAckStyle,
  type ClientOptions,
  InvalidOptionError,
  resolveClientOptions,
} from './options.ts';
import { runRepl } from './repl.ts';

/** The interactive client's reply limit; the library's default is none. */
const INTERACTIVE_REPLY_TIMEOUT_S = 30;

export interface ClientArgs {
  host: string;
  port: number;
  'header-bytes': number;
  'max-message-bytes': number;
  ack: string;
  'connect-timeout': number;
  'reply-timeout': number;
}

/** The flag a user typed for each option, so that errors name what they can change. */
const FLAG_OF: Record<string, string> = {
  host: '--host',
  port: '--port',
  headerBytes: '--header-bytes',
  maxMessageBytes: '--max-message-bytes',
  ack: '--ack',
  connectTimeoutMs: '--connect-timeout',
  replyTimeoutMs: '--reply-timeout',
};

/**
 * Pure argv -> ClientOptions mapping, validated (the programmatic connect() takes the
 * same object). Throws InvalidOptionError (code ERR_INVALID_OPTION) naming the flag.
 */
export function clientOptionsFromArgs(args: ClientArgs): ClientOptions {
  const options: ClientOptions = {
    host: args.host,
    port: args.port,
    headerBytes: args['header-bytes'],
    maxMessageBytes: args['max-message-bytes'],
    ack: args.ack as ClientAckStyle,
    connectTimeoutMs: secondsToMs('connectTimeoutMs', args['connect-timeout']),
    replyTimeoutMs: secondsToMs('replyTimeoutMs', args['reply-timeout'], 'never'),
  };
  try {
    resolveClientOptions(options);
  } catch (err) {
    if (!(err instanceof InvalidOptionError)) throw err;
    const flag = FLAG_OF[err.option];
    throw flag ? new InvalidOptionError(err.option, err.message.replace(err.option, flag)) : err;
  }
  return options;
}

export const clientCommand: CommandModule<object, ClientArgs> = {
  command: 'client',
  describe: 'Interactive client: each line you type is sent, and the reply printed',
  builder: (y: Argv) =>
    y
      .option('host', { type: 'string', default: CLIENT_DEFAULTS.host, describe: 'server address' })
      .option('port', { alias: 'p', type: 'number', default: 5050, describe: 'server port' })
      .option('header-bytes', {
        type: 'number',
        default: CLIENT_DEFAULTS.headerBytes,
        describe: "header size H, 4..1024 (must match the server's)",
      })
      .option('max-message-bytes', {
        type: 'number',
        default: CLIENT_DEFAULTS.maxMessageBytes,
        describe: 'largest reply accepted',
      })
      .option('ack', {
        choices: CLIENT_ACK_STYLES,
        default: CLIENT_DEFAULTS.ack,
        describe:
          "raw: the server acks with 12 bare bytes 'Msg received' (the tutorial's original server); acks only, no echo",
      })
      .option('connect-timeout', {
        type: 'number',
        default: CLIENT_DEFAULTS.connectTimeoutMs / 1000,
        describe: 'seconds to wait for the connection',
      })
      // A person at a prompt should not wait for ever on a server that never answers (a raw-ack one, say).
      .option('reply-timeout', {
        type: 'number',
        default: INTERACTIVE_REPLY_TIMEOUT_S,
        describe: 'seconds to wait for each reply; 0 = for ever',
      })
      // Validated here, before the handler, so that a bad value is one line and exit 2 (see src/cli.ts).
      .check((args) => {
        clientOptionsFromArgs(args);
        return true;
      })
      .epilogue(
        'Type a message and press Enter. /quit, !DISCONNECT or Ctrl-D leave cleanly. Piped input works too: one message per line.',
      )
      .requiresArg(['host', 'port', 'header-bytes', 'max-message-bytes', 'ack', 'connect-timeout', 'reply-timeout'])
      .example('$0 client', 'talk to a server on 127.0.0.1:5050')
      .example('printf "hi\\nthere\\n" | $0 client --port 6000', 'send two messages, print the two replies, leave')
      .example('$0 client --ack raw', "talk to the tutorial's original Python server"),
  handler: async (args) => {
    process.exitCode = await runRepl({ client: clientOptionsFromArgs(args) });
  },
};
