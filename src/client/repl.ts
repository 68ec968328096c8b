import readline from 'node:readline';
import { ConnectionClosedError, DISCONNECT_MESSAGE, HandoffError, ProtocolError } from '../protocol/index.ts';
import { type Client, type CloseInfo, connect } from './client.ts';
import type { ClientOptions } from './options.ts';

export interface ReplOptions {
  client: ClientOptions;
  /** Lines to send. Default process.stdin. */
  input?: NodeJS.ReadableStream;
  /** Replies. Default process.stdout. */
  output?: NodeJS.WritableStream;
  /** Errors and the banner. Default process.stderr. */
  errorOutput?: NodeJS.WritableStream;
  /** Prompt and banner; default: when `input` is a terminal. Piped input gets neither. */
  interactive?: boolean;
}

/** Typed alone on a line, leaves (as does Ctrl-D, or `!DISCONNECT` itself). */
export const QUIT_COMMAND = '/quit';

/** One line for the user: code and text, never a stack trace. */
export function describeFailure(err: unknown): string {
  if (err instanceof ProtocolError) return `error ${err.code}: ${err.text}`;
  if (err instanceof HandoffError) return err.message;
  return err instanceof Error ? err.message : String(err);
}

/**
 * The interactive client: each line read is sent as one message and its reply
 * printed on its own line. Leaves cleanly (`!DISCONNECT`, then the server's FIN)
 * at `/quit`, `!DISCONNECT`, Ctrl-D, Ctrl-C or the end of piped input.
 * An empty line sends nothing. Resolves with the exit status: 0 after a clean
 * leave, 1 when the connection failed or ended under us (one line on errorOutput).
 */
export async function runRepl(options: ReplOptions): Promise<number> {
  const input = options.input ?? process.stdin;
  const output = options.output ?? process.stdout;
  const errorOutput = options.errorOutput ?? process.stderr;
  const interactive = options.interactive ?? (input as { isTTY?: boolean }).isTTY === true;
  const fail = (err: unknown): number => {
    errorOutput.write(`handoff: ${describeFailure(err)}\n`);
    return 1;
  };

  let client: Client;
  try {
    client = await connect(options.client);
  } catch (err) {
    return fail(err);
  }

  const rl = readline.createInterface({
    input,
    output: interactive ? output : undefined,
    terminal: interactive,
    prompt: '> ',
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  // Without a listener readline would only pause on Ctrl-C; leaving cleanly is friendlier.
  rl.on('SIGINT', () => rl.close());
  const lines = rl[Symbol.asyncIterator]();
  const serverGone = client.closed.then((info: CloseInfo) => ({ gone: info }));

  try {
    if (interactive) {
      const { host, port } = client.options;
      errorOutput.write(`connected to ${host}:${port}; type a message, ${QUIT_COMMAND} or Ctrl-D to leave\n`);
      rl.prompt();
    }
    for (;;) {
      const next = await Promise.race([lines.next(), serverGone]);
      if ('gone' in next) {
        // The server left while we waited for input (SHUTTING_DOWN, idle TIMEOUT, a crash).
        return fail(next.gone.error ?? new ConnectionClosedError('the server closed the connection'));
      }
      if (next.done) break;
      const line = next.value;
      if (line === QUIT_COMMAND) break;
      if (line !== '') {
        try {
          output.write(`${await client.send(line)}\n`);
        } catch (err) {
          return fail(err);
        }
        if (line === DISCONNECT_MESSAGE) break;
      }
      if (interactive) rl.prompt();
    }
    await client.close();
    const { error } = await client.closed;
    return error ? fail(error) : 0;
  } finally {
    rl.close();
    client.destroy();
  }
}
