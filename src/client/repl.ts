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

/** The REPL's side of the terminal: readline, the prompt, and lines for the user. */
interface ReplScreen {
  readonly lines: AsyncIterator<string>;
  /** Shows the prompt; `preserveCursor` keeps the cursor in what the user typed ahead. */
  prompt(preserveCursor?: boolean): void;
  /** A line for the user; on a terminal, above the prompt (once readline is closed, e.g. by Ctrl-D, plainly). */
  show(stream: NodeJS.WritableStream, text: string): void;
  /** Leaves the prompt's row (Ctrl-D, Ctrl-C, the server gone), so that what follows, the shell's prompt too, starts a row. */
  leavePrompt(): void;
  /** One line on errorOutput; the exit status that goes with it. */
  fail(err: unknown): number;
  close(): void;
}

/** Everything one REPL run works with. */
interface Repl {
  client: Client;
  screen: ReplScreen;
  chat: boolean;
  interactive: boolean;
  output: NodeJS.WritableStream;
  errorOutput: NodeJS.WritableStream;
}

function writeFailure(errorOutput: NodeJS.WritableStream, err: unknown): number {
  errorOutput.write(`handoff: ${describeFailure(err)}\n`);
  return 1;
}

function openScreen(
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
  errorOutput: NodeJS.WritableStream,
  interactive: boolean,
): ReplScreen {
  /** The prompt is on the screen with the cursor after it (no Enter since): a line that follows needs a row of its own. */
  let atPrompt = false;
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
  rl.on('line', () => (atPrompt = false));
  const leavePrompt = () => {
    if (!atPrompt) return;
    atPrompt = false;
    output.write('\n');
  };
  return {
    lines: rl[Symbol.asyncIterator](),
    prompt: (preserveCursor) => {
      rl.prompt(preserveCursor);
      atPrompt = true;
    },
    show: (stream, text) => {
      if (interactive && !rlClosed) printAbove(rl, output, stream, text);
      else stream.write(`${text}\n`);
    },
    leavePrompt,
    fail: (err) => {
      leavePrompt();
      return writeFailure(errorOutput, err);
    },
    close: () => rl.close(),
  };
}

/** On a terminal: the banner, the prompt, and in chat who is in the lobby with you. */
async function greet({ client, screen, chat, output, errorOutput }: Repl): Promise<void> {
  const { host, port } = client.options;
  errorOutput.write(
    chat
      ? `connected to ${host}:${port} (chat): each line you type goes to your room\n` +
          `${CHAT_COMMANDS_HELP}; ${QUIT_COMMAND} or Ctrl-D to leave\n`
      : `connected to ${host}:${port}; type a message, ${QUIT_COMMAND} or Ctrl-D to leave\n`,
  );
  screen.prompt();
  if (chat) screen.show(output, formatWho(await client.who()));
}

/** Sends one typed line and shows its reply; a chat refusal is one line, anything else throws. */
async function answerLine({ client, screen, chat, interactive, output, errorOutput }: Repl, line: string) {
  try {
    if (!chat) output.write(`${await client.send(line)}\n`);
    else {
      const shown = await chatLine(client, line, interactive);
      if (shown !== null) screen.show(output, shown);
    }
  } catch (err) {
    if (!(chat && err instanceof CommandRefusedError)) throw err;
    screen.show(errorOutput, describeRefusal(err));
  }
}

/** Reads and answers lines until the user leaves (`leftWith`: the line that left, '' for the end of input) or a failure. */
async function converse(repl: Repl): Promise<{ leftWith: string } | { failed: unknown }> {
  const { client, screen } = repl;
  const serverGone = client.closed.then((info: CloseInfo) => ({ gone: info }));
  for (;;) {
    const next = await Promise.race([screen.lines.next(), serverGone]);
    if ('gone' in next) {
      // The server left while we waited for input (SHUTTING_DOWN, idle TIMEOUT, a crash).
      return { failed: next.gone.error ?? new ConnectionClosedError('the server closed the connection') };
    }
    if (next.done) {
      screen.leavePrompt(); // Ctrl-D or Ctrl-C: the cursor is still after the prompt
      return { leftWith: '' };
    }
    const line = next.value;
    if (line === QUIT_COMMAND) return { leftWith: QUIT_COMMAND };
    if (line !== '') {
      try {
        await answerLine(repl, line);
      } catch (err) {
        return { failed: err };
      }
      if (line === DISCONNECT_MESSAGE) return { leftWith: DISCONNECT_MESSAGE };
    }
    if (repl.interactive) screen.prompt(repl.chat); // in chat mode the user may have typed ahead: keep the cursor in it
  }
}

/** Closes the connection; piped input may go on after the line that left: those lines are not sent, and the user is told so. */
async function leave({ client, screen, interactive, errorOutput }: Repl, leftWith: string): Promise<number> {
  const unsent = leftWith && !interactive ? await countLinesLeft(screen.lines) : 0;
  await client.close();
  if (unsent > 0) {
    errorOutput.write(`handoff: ${unsent} line${unsent === 1 ? '' : 's'} after ${leftWith} not sent\n`);
  }
  const { error } = await client.closed;
  return error ? screen.fail(error) : 0;
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
  const chat = options.client.chat === true;
  let client: Client;
  try {
    // The REPL prints deliveries from the events; keeping them for deliveries() too would only cost memory.
    client = await connect(chat ? { ...options.client, maxBufferedDeliveryBytes: 0 } : options.client);
  } catch (err) {
    return writeFailure(errorOutput, err);
  }

  const screen = openScreen(input, output, errorOutput, interactive);
  const repl: Repl = { client, screen, chat, interactive, output, errorOutput };
  if (chat) client.on('delivery', (delivery) => screen.show(output, formatDelivery(delivery)));
  try {
    if (interactive) {
      try {
        await greet(repl);
      } catch (err) {
        return screen.fail(err);
      }
    }
    const ended = await converse(repl);
    return 'failed' in ended ? screen.fail(ended.failed) : await leave(repl, ended.leftWith);
  } finally {
    screen.close();
    client.destroy();
  }
}
