import type { Argv, CommandModule } from 'yargs';
import { defineFlags } from '../options/flags.ts';
import { DEFAULT_PORT } from '../protocol/index.ts';
import {
  CLIENT_ACK_STYLES,
  CLIENT_DEFAULTS,
  type ClientOptions,
  resolveClientOptions,
  type ResolvedClientOptions,
} from './options.ts';
import { runRepl } from './repl.ts';

/**
 * Where the interactive client differs from the library: the library has no
 * default port, and it waits for ever for a reply (0), while a person at a
 * prompt should not wait for ever on a server that never answers (a raw-ack one, say).
 */
const INTERACTIVE_DEFAULTS = Object.freeze({ ...CLIENT_DEFAULTS, port: DEFAULT_PORT, replyTimeoutMs: 30_000 });

/** Every flag of `handoff client`: yargs options, help, argv mapping and error messages all come from here. */
export const CLIENT_FLAGS = defineFlags<ClientOptions>(
  [
    { option: 'host', flag: 'host', kind: 'string', describe: 'server address' },
    { option: 'port', flag: 'port', alias: 'p', kind: 'integer', describe: 'server port' },
    {
      option: 'headerBytes',
      flag: 'header-bytes',
      kind: 'integer',
      describe: "header size H, 4..1024 (must match the server's)",
    },
    { option: 'maxMessageBytes', flag: 'max-message-bytes', kind: 'integer', describe: 'largest reply accepted' },
    {
      option: 'ack',
      flag: 'ack',
      kind: 'choice',
      choices: CLIENT_ACK_STYLES,
      describe:
        "raw: the server acks with 12 bare bytes 'Msg received' (the tutorial's original server); acks only, no echo",
    },
    {
      option: 'connectTimeoutMs',
      flag: 'connect-timeout',
      kind: 'seconds',
      describe: 'seconds to wait for the connection',
    },
    {
      option: 'replyTimeoutMs',
      flag: 'reply-timeout',
      kind: 'seconds',
      zero: 'no limit',
      describe: 'seconds to wait for each reply',
    },
    { option: 'tls', flag: 'tls', kind: 'boolean', describe: 'speak TLS (a server run with --tls-cert)' },
    {
      option: 'ca',
      flag: 'ca',
      kind: 'string',
      describe: "with --tls: PEM file of the CAs to trust (a self-signed server's certificate); default the system's",
    },
    {
      option: 'chat',
      flag: 'chat',
      kind: 'boolean',
      describe:
        'chat mode, for a server run with --mode chat: shows what others say as it arrives; /join <room>, /nick <name>, /who',
    },
  ],
  INTERACTIVE_DEFAULTS,
);

/**
 * Pure argv -> options mapping: the flags given, in API units, over the
 * interactive defaults, validated and resolved (the programmatic connect() takes
 * the same object). Throws InvalidOptionError naming the API option
 * (`connectTimeoutMs`); CLIENT_FLAGS.describeError() words it in flags.
 */
export function clientOptionsFromArgs(argv: Readonly<Record<string, unknown>>): ResolvedClientOptions {
  return resolveClientOptions({ ...INTERACTIVE_DEFAULTS, ...CLIENT_FLAGS.toOptions(argv) });
}

export const clientCommand: CommandModule = {
  command: 'client',
  describe: 'Interactive client: each line you type is sent, and the reply printed',
  builder: (y: Argv) =>
    CLIENT_FLAGS.build(y)
      .check(CLIENT_FLAGS.check((options) => resolveClientOptions({ ...INTERACTIVE_DEFAULTS, ...options })))
      .epilogue(
        'Type a message and press Enter. /quit, !DISCONNECT or Ctrl-D leave cleanly. Piped input works too: one message per line.',
      )
      .example('$0 client', 'talk to a server on 127.0.0.1:5050')
      .example('printf "hi\\nthere\\n" | $0 client --port 6000', 'send two messages, print the two replies, leave')
      .example('$0 client --ack raw', "talk to the tutorial's original Python server")
      .example('$0 client --chat', 'chat with the other clients of handoff serve --mode chat'),
  handler: async (argv) => {
    process.exitCode = await runRepl({ client: clientOptionsFromArgs(argv) });
  },
};
