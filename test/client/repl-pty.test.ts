// `handoff client --chat` in a real terminal: tmux runs it in a pseudo-terminal, types
// into it and reads back the screen as a person would see it, so these tests check what
// piped input cannot: a delivery that arrives while the user is typing lands on its own
// line above the prompt, and the partial input (and the cursor in it) is still there.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DISCONNECT_MESSAGE } from '../../src/protocol/index.ts';
import { BIN } from '../helpers/process.ts';
import { hasTmux, Terminal } from '../helpers/tmux.ts';
import { scripted, startFakeServer } from './fake-server.ts';

const PROMPT = '> ';

/** The last rows of the screen are `expected` (the prompt and the input, wrapped). */
function endsWith(screen: string[], expected: string[]): boolean {
  return expected.every((row, i) => screen[screen.length - expected.length + i] === row);
}

test(
  'a delivery arriving while the user types appears on its own line above the prompt; the partial input and the cursor stay',
  { skip: !hasTmux() && 'tmux is not installed', timeout: 60_000 },
  async (t) => {
    const server = await startFakeServer(t, { reply: scripted({ '!WHO': '!OK WHO lobby 127.0.0.1:1000 alice' }) });
    const width = 60;
    const term = await Terminal.start(t, [BIN, 'client', '--chat', '--port', String(server.port)], width, 30);
    const conn = await server.nextConnection();
    await term.until('prompt', (s) => s.at(-1) === PROMPT.trimEnd() && s.some((row) => row.includes('(chat)')));
    await term.until('who is in the lobby', (s) => s.at(-2) === 'lobby: 127.0.0.1:1000, alice');
    await conn.waitForMessages(1); // the !WHO: the user's messages come after it

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
    assert.deepEqual((await conn.waitForMessages(2)).at(-1), 'hello world', 'sent intact');
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
    assert.deepEqual((await conn.waitForMessages(3)).at(-1), 'abcXdef');

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
      assert.equal((await conn.waitForMessages(4 + n)).at(-1), text, `${what}: sent intact`);
    }

    // 4. /quit leaves cleanly.
    await term.type('/quit');
    await term.press('Enter');
    await conn.waitForMessages(4 + wraps.length);
    assert.equal(conn.received.at(-1)!.toString(), DISCONNECT_MESSAGE);
    assert.equal(await term.exited(), 0, (await term.screen()).join('\n'));
  },
);
