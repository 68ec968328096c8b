// The interactive client in chat mode, driven in-process through streams (as piped stdin would).
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { collector } from './collect.ts';
import { test } from 'node:test';
import { runRepl } from '../../src/client/index.ts';
import { deliveryPayload } from '../../src/protocol/chat.ts';
import { ACK_TEXT, DISCONNECT_MESSAGE } from '../../src/protocol/index.ts';
import { scripted, startFakeServer } from './fake-server.ts';

async function chatRepl(port: number, input: NodeJS.ReadableStream) {
  const out = collector();
  const err = collector();
  const code = await runRepl({ client: { port, chat: true }, input, output: out.stream, errorOutput: err.stream });
  return { code, stdout: out.text(), stderr: err.text() };
}

test('chat lines: /nick, /join and /who send the commands and print their outcome; acks are not printed', async (t) => {
  const server = await startFakeServer(t, {
    reply: scripted({
      '!NICK bob': '!OK NICK bob',
      '!JOIN games': '!OK JOIN games',
      '!WHO': '!OK WHO games bob carol',
      hello: (conn) => {
        conn.deliver('message', 'games', 'carol', 'hi bob');
        conn.reply(ACK_TEXT);
      },
    }),
  });
  const lines = ['/nick bob', '/join games', '/who', 'hello', '!WHO', '/who x', ''];
  const { code, stdout, stderr } = await chatRepl(server.port, Readable.from([lines.join('\n')]));
  assert.equal(stderr, '');
  assert.equal(
    stdout,
    [
      '* you are now bob',
      '* you are now in games',
      'games: bob, carol',
      '[games] carol: hi bob',
      '!OK WHO games bob carol', // a command typed by hand: its reply is shown as it is
      '',
    ].join('\n'),
  );
  assert.equal(code, 0);
  assert.deepEqual(server.connections[0]!.received.map(String), [
    '!NICK bob',
    '!JOIN games',
    '!WHO',
    'hello',
    '!WHO',
    '/who x',
    DISCONNECT_MESSAGE,
  ]);
});

test('/who in a room too big for one reply prints the names and "and N more"', async (t) => {
  const server = await startFakeServer(t, { reply: scripted({ '!WHO': '!OK WHO lobby alice bob +1998' }) });
  const { code, stdout, stderr } = await chatRepl(server.port, Readable.from(['/who\n']));
  assert.equal(stderr, '');
  assert.equal(stdout, 'lobby: alice, bob and 1,998 more\n');
  assert.equal(code, 0);
});

test('a !NO refusal is one line "refused: CODE text" and the REPL goes on', async (t) => {
  const server = await startFakeServer(t, {
    reply: scripted({
      '!NICK bad name': (conn) => conn.refuse('BAD_NAME', 'names are 1 to 32 bytes of A-Z a-z 0-9 _ . -'),
      '!JOIN ': (conn) => conn.refuse('BAD_ROOM', 'the room is empty'),
      '!PING': (conn) => conn.refuse('BAD_COMMAND', 'unknown command !PING'),
      '!NICK ok': '!OK NICK ok',
    }),
  });
  const { code, stdout, stderr } = await chatRepl(
    server.port,
    Readable.from(['/nick bad name\n/join\n!PING\n/nick ok\n']),
  );
  assert.equal(
    stderr,
    [
      'refused: BAD_NAME names are 1 to 32 bytes of A-Z a-z 0-9 _ . -',
      'refused: BAD_ROOM the room is empty',
      'refused: BAD_COMMAND unknown command !PING',
      '',
    ].join('\n'),
  );
  assert.equal(stdout, '* you are now ok\n');
  assert.equal(code, 0);
});

test('deliveries are printed line by line as they arrive, also while the user is idle, controls made harmless', async (t) => {
  const server = await startFakeServer(t, { mode: 'ack' });
  const input = new PassThrough();
  t.after(() => input.destroy());
  const out = collector();
  const running = runRepl({
    client: { port: server.port, chat: true },
    input,
    output: out.stream,
    errorOutput: new PassThrough(),
  });
  const conn = await server.nextConnection();
  conn.deliver('joined', 'lobby', 'alice');
  conn.deliver('message', 'lobby', 'alice', 'two\nlines \x1b[31mred');
  conn.deliver('left', 'lobby', '127.0.0.1:5123');
  conn.socket.write(conn.frame(deliveryPayload('message', 'lobby', 'bob', '')));
  input.end('bye\n');
  assert.equal(await running, 0);
  assert.equal(
    out.text(),
    [
      '* alice joined lobby',
      '[lobby] alice: two',
      '  lines \uFFFD[31mred',
      '* 127.0.0.1:5123 left lobby',
      '[lobby] bob: ',
      '',
    ].join('\n'),
  );
});

test('--chat against a server not in chat mode: the first command says so in one line, exit status 1', async (t) => {
  const server = await startFakeServer(t, { mode: 'ack' });
  const { code, stdout, stderr } = await chatRepl(server.port, Readable.from(['hello\n/join games\nnot sent\n']));
  assert.equal(code, 1);
  assert.equal(stdout, '');
  assert.equal(
    stderr,
    'handoff: expected !OK JOIN <room> in reply to !JOIN, got "Msg received" (is the server in chat mode, --mode chat?)\n',
  );
});
