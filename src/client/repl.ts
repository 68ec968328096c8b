import readline from 'node:readline';
import {
  ACK_TEXT,
  CommandRefusedError,
  ConnectionClosedError,
  DISCONNECT_MESSAGE,
  HandoffError,
  ProtocolError,
} from '../protocol/index.ts';
import { CHAT_COMMANDS_HELP, formatDelivery, formatWho, parseChatLine, printable } from './chat-view.ts';
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
const QUIT_COMMAND = '/quit';

/** One line for the user: code and text, never a stack trace. */
function describeFailure(err: unknown): string {
  if (err instanceof ProtocolError) return `error ${err.code}: ${err.text}`;
  if (err instanceof HandoffError) return err.message;
  return err instanceof Error ? err.message : String(err);
}

/** How a `!NO` refusal is shown: one line, and the REPL goes on. */
function describeRefusal(err: CommandRefusedError): string {
  return `refused: ${err.code} ${printable(err.text)}`;
}

/**
 * Writes `text` as lines above the prompt without garbling what the user is
 * typing: the prompt and the partial input (however many rows it wraps over)
 * are erased, the text written, and readline redraws them with the cursor where
 * it was.
 */
function printAbove(
  rl: readline.Interface,
  terminal: NodeJS.WritableStream,
  stream: NodeJS.WritableStream,
  text: string,
): void {
  const { rows } = rl.getCursorPos(); // where the cursor is, below the prompt's first row
  readline.moveCursor(terminal, 0, -rows);
  readline.cursorTo(terminal, 0);
  readline.clearScreenDown(terminal);
  stream.write(`${text}\n`);
  // readline's redraw first goes up the rows it believes the cursor is below the prompt. That
  // count lags behind after a paste that wrapped (readline writes all but the last character of
  // a chunk without a redraw), so come down by readline's own count (`rows` if it has none).
  const redrawGoesUp = (rl as { prevRows?: unknown }).prevRows;
  const down = typeof redrawGoesUp === 'number' ? redrawGoesUp : rows;
  if (down > 0) terminal.write('\n'.repeat(down));
  rl.prompt(true);
}

/**
 * One chat line: the command it spells, sent; what to show of the reply (acks are
 * noise: nothing). On a terminal a join also shows who is in the room it entered.
 */
async function chatLine(client: Client, line: string, presence: boolean): Promise<string | null> {
  const parsed = parseChatLine(line);
  switch (parsed.kind) {
    case 'who':
      return formatWho(await client.who());
    case 'join': {
      const joined = `* you are now in ${printable((await client.join(parsed.argument)).room)}`;
      return presence ? `${joined}\n${formatWho(await client.who())}` : joined;
    }
    case 'nick':
      return `* you are now ${printable((await client.nick(parsed.argument)).name)}`;
    case 'send': {
      const reply = await client.send(parsed.message);
      return reply === ACK_TEXT ? null : printable(reply); // `!OK WHO ...` for a command typed by hand
    }
  }
}

/** How long piped input may stay silent before the lines after a `!DISCONNECT` are counted as all there is. */
const LEFTOVER_QUIET_MS = 200;

/** The non-empty lines still to come from piped input: until it ends, or stays quiet a moment (a pipe left open). */
async function countLinesLeft(lines: AsyncIterator<string>): Promise<number> {
  let count = 0;
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    const quiet = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), LEFTOVER_QUIET_MS)));
    const next = await Promise.race([lines.next(), quiet]);
    clearTimeout(timer);
    if (next === null || next.done) return count;
    if (next.value !== '') count++;
  }
}

/**
 * The interactive client: each line read is sent as one message and its reply
 * printed on its own line. Leaves cleanly (`!DISCONNECT`, then the server's FIN)
 * at `/quit`, `!DISCONNECT`, Ctrl-D, Ctrl-C or the end of piped input.
 * An empty line sends nothing. Resolves with the exit status: 0 after a clean
 * leave, 1 when the connection failed or ended under us (one line on errorOutput).
 *
 * With `client.chat`, deliveries are printed as they arrive (above the prompt
 * and the partial input on a terminal), `/join <room>`, `/nick <name>` and
 * `/who` send the commands, acks are not printed, and a `!NO` refusal is one
 * line on errorOutput (`refused: BAD_NAME ...`) after which the REPL goes on.
 */
export async function runRepl(options: ReplOptions): Promise<number> {
  const input = options.input ?? process.stdin;
  const output = options.output ?? process.stdout;
  const errorOutput = options.errorOutput ?? process.stderr;
  const interactive = options.interactive ?? (input as { isTTY?: boolean }).isTTY === true;
  /** The prompt is on the screen with the cursor after it (no Enter since): a line that follows needs a row of its own. */
  let atPrompt = false;
  /** Leaves the prompt's row (Ctrl-D, Ctrl-C, the server gone), so that what follows, the shell's prompt too, starts a row. */
  const leavePrompt = () => {
    if (!atPrompt) return;
    atPrompt = false;
    output.write('\n');
  };
  const fail = (err: unknown): number => {
    leavePrompt();
    errorOutput.write(`handoff: ${describeFailure(err)}\n`);
    return 1;
  };

  const chat = options.client.chat === true;
  let client: Client;
  try {
    // The REPL prints deliveries from the events; keeping them for deliveries() too would only cost memory.
    client = await connect(chat ? { ...options.client, maxBufferedDeliveryBytes: 0 } : options.client);
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
  let rlClosed = false;
  rl.once('close', () => (rlClosed = true));
  const prompt = (preserveCursor?: boolean) => {
    rl.prompt(preserveCursor);
    atPrompt = true;
  };
  rl.on('line', () => (atPrompt = false));
  /** A line for the user; on a terminal, above the prompt (once readline is closed, e.g. by Ctrl-D, plainly). */
  const show = (stream: NodeJS.WritableStream, text: string): void => {
    if (interactive && !rlClosed) printAbove(rl, output, stream, text);
    else stream.write(`${text}\n`);
  };
  if (chat) client.on('delivery', (delivery) => show(output, formatDelivery(delivery)));
  const lines = rl[Symbol.asyncIterator]();
  const serverGone = client.closed.then((info: CloseInfo) => ({ gone: info }));

  try {
    if (interactive) {
      const { host, port } = client.options;
      errorOutput.write(
        chat
          ? `connected to ${host}:${port} (chat): each line you type goes to your room\n` +
              `${CHAT_COMMANDS_HELP}; ${QUIT_COMMAND} or Ctrl-D to leave\n`
          : `connected to ${host}:${port}; type a message, ${QUIT_COMMAND} or Ctrl-D to leave\n`,
      );
      prompt();
      if (chat) {
        try {
          show(output, formatWho(await client.who())); // who is in the lobby with you
        } catch (err) {
          return fail(err);
        }
      }
    }
    let leftWith = '';
    for (;;) {
      const next = await Promise.race([lines.next(), serverGone]);
      if ('gone' in next) {
        // The server left while we waited for input (SHUTTING_DOWN, idle TIMEOUT, a crash).
        return fail(next.gone.error ?? new ConnectionClosedError('the server closed the connection'));
      }
      if (next.done) {
        leavePrompt(); // Ctrl-D or Ctrl-C: the cursor is still after the prompt
        break;
      }
      const line = next.value;
      if (line === QUIT_COMMAND) {
        leftWith = QUIT_COMMAND;
        break;
      }
      if (line !== '') {
        try {
          if (!chat) output.write(`${await client.send(line)}\n`);
          else {
            const shown = await chatLine(client, line, interactive);
            if (shown !== null) show(output, shown);
          }
        } catch (err) {
          if (!(chat && err instanceof CommandRefusedError)) return fail(err);
          show(errorOutput, describeRefusal(err));
        }
        if (line === DISCONNECT_MESSAGE) {
          leftWith = DISCONNECT_MESSAGE;
          break;
        }
      }
      if (interactive) prompt(chat); // in chat mode the user may have typed ahead: keep the cursor in it
    }
    // Piped input may go on after the line that left: those lines are not sent, and the user is told so.
    const unsent = leftWith && !interactive ? await countLinesLeft(lines) : 0;
    await client.close();
    if (unsent > 0) {
      errorOutput.write(`handoff: ${unsent} line${unsent === 1 ? '' : 's'} after ${leftWith} not sent\n`);
    }
    const { error } = await client.closed;
    return error ? fail(error) : 0;
  } finally {
    rl.close();
    client.destroy();
  }
}
