// `handoff client --chat` in a real terminal: tmux runs it in a pseudo-terminal, types
// into it and reads back the screen as a person would see it, so these tests check what
// piped input cannot: a delivery that arrives while the user is typing lands on its own
// line above the prompt, and the partial input (and the cursor in it) is still there.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type TestContext, test } from 'node:test';
import { DISCONNECT_MESSAGE } from '../../src/protocol/index.ts';
import { BIN } from '../helpers/process.ts';
import { startFakeServer } from './fake-server.ts';

const TMUX_CALL_MS = 5_000;
const SCREEN_WAIT_MS = 10_000;

function hasTmux(): boolean {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'ignore', timeout: TMUX_CALL_MS });
    return true;
  } catch {
    if (process.env.HANDOFF_REQUIRE_SERVICES) throw new Error('tmux is required here but not installed');
    return false;
  }
}

/** One tmux server of our own (its own socket, no user config) running one command in a `width` x `height` pane. */
class Terminal {
  readonly #socket: string;
  readonly #statusFile: string;

  private constructor(dir: string) {
    this.#socket = path.join(dir, 'tmux.sock');
    this.#statusFile = path.join(dir, 'status');
  }

  static async start(t: TestContext, command: string[], width: number, height: number): Promise<Terminal> {
    const dir = mkdtempSync(path.join(tmpdir(), 'handoff-pty-'));
    const config = path.join(dir, 'tmux.conf');
    // remain-on-exit: the screen can still be read once the client has left.
    writeFileSync(config, 'set -g remain-on-exit on\nset -g status off\n');
    const terminal = new Terminal(dir);
    t.after(async () => {
      await terminal.tmux('kill-server').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    });
    // A shell waits for the command and writes down its exit status: tmux itself is slow, at
    // times, to reap a pane's process, and its exit status cannot be read before that.
    const script = '"$@"; echo $? > "$STATUS_FILE"';
    await terminal.tmux(
      '-f',
      config,
      'new-session',
      '-d',
      '-s',
      'chat',
      '-x',
      String(width),
      '-y',
      String(height),
      '-e',
      `STATUS_FILE=${terminal.#statusFile}`,
      'sh',
      '-c',
      script,
      'sh',
      ...command,
    );
    return terminal;
  }

  tmux(...args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile('tmux', ['-S', this.#socket, ...args], { timeout: TMUX_CALL_MS }, (err, stdout, stderr) =>
        err ? reject(new Error(`tmux ${args.join(' ')}: ${err.message} ${stderr}`)) : resolve(stdout),
      );
    });
  }

  /** Types `text` as it is (no key names). */
  type(text: string): Promise<string> {
    return this.tmux('send-keys', '-t', 'chat', '-l', text);
  }

  /** Presses keys by name: Enter, Left, ... */
  press(...keys: string[]): Promise<string> {
    return this.tmux('send-keys', '-t', 'chat', ...keys);
  }

  /** The visible screen, one string per row, trailing blanks trimmed, trailing empty rows dropped. */
  async screen(): Promise<string[]> {
    const rows = (await this.tmux('capture-pane', '-p', '-t', 'chat')).split('\n').map((row) => row.trimEnd());
    while (rows.length > 0 && rows.at(-1) === '') rows.pop();
    return rows;
  }

  async cursor(): Promise<{ x: number; y: number }> {
    const [x, y] = (await this.tmux('display-message', '-p', '-t', 'chat', '#{cursor_x} #{cursor_y}'))
      .trim()
      .split(' ');
    return { x: Number(x), y: Number(y) };
  }

  /** The command's exit status once it has ended (128 + N for signal N), else null. */
  exitStatus(): number | null {
    try {
      const text = readFileSync(this.#statusFile, 'utf8');
      return text.endsWith('\n') ? Number(text) : null;
    } catch {
      return null;
    }
  }

  /** The screen once `ready(screen)` holds; fails with the screen it last saw after a bound. */
  async until(what: string, ready: (screen: string[]) => boolean): Promise<string[]> {
    const deadline = performance.now() + SCREEN_WAIT_MS;
    for (;;) {
      const screen = await this.screen();
      if (ready(screen)) return screen;
      if (performance.now() > deadline) {
        assert.fail(`no ${what} on the screen within ${SCREEN_WAIT_MS} ms; it shows:\n${screen.join('\n')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

const PROMPT = '> ';

/** The last rows of the screen are `expected` (the prompt and the input, wrapped). */
function endsWith(screen: string[], expected: string[]): boolean {
  return expected.every((row, i) => screen[screen.length - expected.length + i] === row);
}

test(
  'a delivery arriving while the user types appears on its own line above the prompt; the partial input and the cursor stay',
  { skip: !hasTmux() && 'tmux is not installed', timeout: 60_000 },
  async (t) => {
    const server = await startFakeServer(t, { mode: 'ack' });
    const width = 60;
    const term = await Terminal.start(t, [BIN, 'client', '--chat', '--port', String(server.port)], width, 30);
    const conn = await server.nextConnection();
    await term.until('prompt', (s) => s.at(-1) === PROMPT.trimEnd() && s.some((row) => row.includes('(chat)')));

    // 1. A partial line, a delivery, then the rest of the line.
    await term.type('hello wor');
    await term.until('partial input', (s) => s.at(-1) === `${PROMPT}hello wor`);
    conn.deliver('message', 'lobby', 'alice', 'hi there');
    let screen = await term.until('delivery', (s) => s.includes('[lobby] alice: hi there'));
    screen = await term.until('redrawn input', (s) => endsWith(s, ['[lobby] alice: hi there', `${PROMPT}hello wor`]));
    assert.equal(screen.filter((row) => row.includes('hello wor')).length, 1, 'the partial input is drawn once');
    assert.deepEqual(await term.cursor(), { x: PROMPT.length + 'hello wor'.length, y: screen.length - 1 });
    await term.type('ld');
    await term.press('Enter');
    assert.deepEqual((await conn.waitForMessages(1)).at(-1), 'hello world', 'sent intact');
    await term.until('a fresh prompt', (s) => endsWith(s, [`${PROMPT}hello world`, PROMPT.trimEnd()]));

    // 2. The cursor in the middle of the input stays where it was.
    await term.type('abcdef');
    await term.press('Left', 'Left', 'Left');
    await term.until('input', (s) => s.at(-1) === `${PROMPT}abcdef`);
    conn.deliver('joined', 'lobby', 'bob');
    screen = await term.until('presence line', (s) => endsWith(s, ['* bob joined lobby', `${PROMPT}abcdef`]));
    assert.deepEqual(await term.cursor(), { x: PROMPT.length + 3, y: screen.length - 1 });
    await term.type('X');
    await term.press('Enter');
    assert.deepEqual((await conn.waitForMessages(2)).at(-1), 'abcXdef');

    // 3. Input that wraps over rows: every row is redrawn, nothing is left behind, nothing above is erased.
    const letters = (n: number) => Array.from({ length: n }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
    const wraps = [
      { what: 'pasted input over two rows', text: letters(80), keyByKey: false },
      { what: 'pasted input ending right at the margin', text: letters(width - PROMPT.length), keyByKey: false },
      { what: 'input typed key by key over two rows', text: letters(70), keyByKey: true },
    ];
    for (const [n, { what, text, keyByKey }] of wraps.entries()) {
      const full = PROMPT + text;
      const rows = Array.from({ length: Math.ceil(full.length / width) }, (_, r) =>
        full.slice(r * width, (r + 1) * width),
      );
      const above = (await term.until('a fresh prompt', (s) => s.at(-1) === PROMPT.trimEnd())).at(-2)!;
      if (keyByKey) for (const key of text) await term.type(key);
      else await term.type(text);
      await term.until(what, (s) => endsWith(s, rows));
      conn.deliver('message', 'lobby', 'carol', `wrapped ${n}`);
      screen = await term.until(`delivery above ${what}`, (s) =>
        endsWith(s, [above, `[lobby] carol: wrapped ${n}`, ...rows]),
      );
      const promptRow = screen.length - rows.length;
      assert.deepEqual(
        await term.cursor(),
        { x: full.length % width, y: promptRow + Math.floor(full.length / width) },
        `cursor after ${what}`,
      );
      await term.press('Enter');
      assert.equal((await conn.waitForMessages(3 + n)).at(-1), text, `${what}: sent intact`);
    }

    // 4. /quit leaves cleanly.
    await term.type('/quit');
    await term.press('Enter');
    await conn.waitForMessages(3 + wraps.length);
    assert.equal(conn.received.at(-1)!.toString(), DISCONNECT_MESSAGE);
    const deadline = performance.now() + SCREEN_WAIT_MS;
    let status = term.exitStatus();
    while (status === null && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      status = term.exitStatus();
    }
    assert.equal(status, 0, (await term.screen()).join('\n'));
  },
);
