// `handoff client` on an 80x24 terminal (tmux), against a real server: the chat banner
// fits the width, who is in the room shows at the start and after a join, and Ctrl-D or
// Ctrl-C leave the cursor on a row of its own, so the shell's prompt starts a row too.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect } from '../../src/client/index.ts';
import { BIN } from '../helpers/process.ts';
import { hasTmux, Terminal } from '../helpers/tmux.ts';
import { withServer } from '../helpers/wire.ts';

const COLS = 80;
const ROWS = 24;
/** What the pane prints once the client has ended: where the shell's prompt would be. */
const SHELL = '$ ';
const skip = !hasTmux() && 'tmux is not installed';

test(
  'chat on 80 columns: a banner of two whole rows, the lobby at the start, the room after /join, Ctrl-D ends the row',
  { skip, timeout: 60_000 },
  async (t) => {
    const server = await withServer(t, { mode: 'chat', workers: 2 });
    const alice = await connect({ port: server.port, chat: true });
    t.after(() => alice.close());
    await alice.nick('alice');
    const bob = await connect({ port: server.port, chat: true });
    t.after(() => bob.close());
    await bob.nick('bob');
    await bob.join('games');

    const term = await Terminal.start(t, [BIN, 'client', '--chat', '--port', String(server.port)], COLS, ROWS, SHELL);
    let screen = await term.until('the lobby', (s) => s.some((row) => row.startsWith('lobby: ')));
    assert.equal(screen[0], `connected to 127.0.0.1:${server.port} (chat): each line you type goes to your room`);
    assert.equal(screen[1], '/join <room>, /nick <name>, /who; /quit or Ctrl-D to leave');
    const lobby = screen[2]!.slice('lobby: '.length).split(', ');
    assert.equal(lobby.length, 2, screen[2]!);
    assert.ok(lobby.includes('alice'), screen[2]!);
    assert.ok(
      lobby.some((member) => /^127\.0\.0\.1:\d+$/.test(member)),
      'and this client, by its address',
    );
    assert.equal(screen[3], '>');

    await term.type('/join games');
    await term.press('Enter');
    screen = await term.until('the room', (s) => s.some((row) => row.startsWith('games: ')));
    assert.deepEqual(screen.slice(3, 5), ['> /join games', '* you are now in games']);
    const games = screen[5]!.slice('games: '.length).split(', ');
    assert.ok(games.includes('bob') && games.length === 2, screen[5]!);
    for (const row of screen) assert.ok(row.length <= COLS);

    await term.press('C-d');
    assert.equal(await term.exited(), 0);
    screen = await term.screen();
    assert.deepEqual(screen.slice(-2), ['>', SHELL.trimEnd()], 'the shell prompt on a row of its own');
  },
);

for (const [key, name] of [
  ['C-d', 'Ctrl-D'],
  ['C-c', 'Ctrl-C'],
] as const) {
  test(
    `${name} at the prompt of the plain client leaves the row: the shell prompt starts its own`,
    { skip, timeout: 30_000 },
    async (t) => {
      const server = await withServer(t, { workers: 1 });
      const term = await Terminal.start(t, [BIN, 'client', '--port', String(server.port)], COLS, ROWS, SHELL);
      await term.until('the prompt', (s) => s.at(-1) === '>');
      await term.type('Hello World!');
      await term.press('Enter');
      await term.until('the reply', (s) => s.at(-2) === 'Msg received');
      await term.press(key);
      assert.equal(await term.exited(), 0);
      const screen = await term.screen();
      assert.deepEqual(screen.slice(-3), ['Msg received', '>', SHELL.trimEnd()]);
    },
  );
}
