// Chat mode commands: join(), nick() and who() resolve with their parsed !OK reply and
// reject with the refusal of a !NO; after a !NO the connection goes on.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  BadCommandError,
  BadNameError,
  BadReplyError,
  BadRoomError,
  CommandRefusedError,
  type Delivery,
} from '../../src/client/index.ts';
import { deliveryPayload } from '../../src/protocol/chat.ts';
import { ACK_TEXT } from '../../src/protocol/index.ts';
import { assertError, failsWith, rejectionOf } from './expect-error.ts';
import { openClient, scripted, startFakeServer } from './fake-server.ts';

async function chatClient(t: import('node:test').TestContext, script: Parameters<typeof scripted>[0]) {
  const server = await startFakeServer(t, { reply: scripted(script) });
  const client = await openClient(t, server.port, { chat: true });
  const sent = () => server.connections[0]!.received.map(String);
  return { client, sent };
}

test('join(room) sends !JOIN <room> and resolves with the room of !OK JOIN', async (t) => {
  const { client, sent } = await chatClient(t, { '!JOIN games': '!OK JOIN games' });
  assert.deepEqual(await client.join('games'), { room: 'games' });
  assert.deepEqual(sent(), ['!JOIN games']);
});

test('nick(name) sends !NICK <name> and resolves with the name of !OK NICK', async (t) => {
  const { client, sent } = await chatClient(t, { '!NICK alice': '!OK NICK alice' });
  assert.deepEqual(await client.nick('alice'), { name: 'alice' });
  assert.deepEqual(sent(), ['!NICK alice']);
});

test('who() sends !WHO and resolves with the room and every member, addresses included', async (t) => {
  const { client, sent } = await chatClient(t, { '!WHO': '!OK WHO lobby alice bob 127.0.0.1:5123 [::1]:40000' });
  assert.deepEqual(await client.who(), {
    room: 'lobby',
    members: ['alice', 'bob', '127.0.0.1:5123', '[::1]:40000'],
    leftOut: 0,
  });
  assert.deepEqual(sent(), ['!WHO']);
});

test('who() of a room too big for one reply: the names listed, and the `+N` marker as the count left out, not a member', async (t) => {
  const { client } = await chatClient(t, { '!WHO': '!OK WHO lobby alice bob +998' });
  assert.deepEqual(await client.who(), { room: 'lobby', members: ['alice', 'bob'], leftOut: 998 });
});

test('a !WHO reply with a `+` word before the last is not a !WHO reply (no name starts with `+`)', async (t) => {
  const { client } = await chatClient(t, { '!WHO': '!OK WHO lobby +3 alice' });
  assertError(await rejectionOf(client.who()), BadReplyError, 'ERR_BAD_REPLY', /!OK WHO/);
});

test('the client refuses nothing itself: bad names and rooms are sent as given, and the server says no', async (t) => {
  const { client, sent } = await chatClient(t, {
    '!JOIN a/b': (conn) => conn.refuse('BAD_ROOM', 'rooms are 1 to 32 bytes of A-Z a-z 0-9 _ . -'),
    '!NICK bad name': (conn) => conn.refuse('BAD_NAME', 'names are 1 to 32 bytes of A-Z a-z 0-9 _ . -'),
    '!NICK ': (conn) => conn.refuse('BAD_NAME', 'the name is empty'),
  });
  const room = await rejectionOf(client.join('a/b'));
  assertError(room, BadRoomError, 'BAD_ROOM');
  assert.equal(room.text, 'rooms are 1 to 32 bytes of A-Z a-z 0-9 _ . -');
  assert.ok(room instanceof CommandRefusedError);
  await assert.rejects(client.nick('bad name'), failsWith(BadNameError, 'BAD_NAME'));
  await assert.rejects(client.nick(''), failsWith(BadNameError, 'BAD_NAME', /the name is empty/));
  assert.deepEqual(sent(), ['!JOIN a/b', '!NICK bad name', '!NICK ']);
});

test('after a !NO the connection goes on: the next command and message get their replies', async (t) => {
  const { client } = await chatClient(t, {
    '!JOIN x y': (conn) => conn.refuse('BAD_ROOM', 'no spaces'),
    '!JOIN x': '!OK JOIN x',
  });
  await assert.rejects(client.join('x y'), failsWith(BadRoomError, 'BAD_ROOM'));
  assert.deepEqual(await client.join('x'), { room: 'x' });
  assert.equal(await client.send('hello'), ACK_TEXT);
  assert.equal(client.isClosed, false);
});

test("send('!PING') is a command: its !NO BAD_COMMAND rejects that send, and the connection goes on", async (t) => {
  const { client } = await chatClient(t, {
    '!PING': (conn) => conn.refuse('BAD_COMMAND', 'unknown command !PING'),
  });
  const err = await rejectionOf(client.send('!PING'));
  assertError(err, BadCommandError, 'BAD_COMMAND');
  assert.equal(err.text, 'unknown command !PING');
  assert.equal(await client.send('!ping is a message'), ACK_TEXT);
});

test('a refusal code this client does not know is still a CommandRefusedError with that code', async (t) => {
  const { client } = await chatClient(t, { '!WHO': (conn) => conn.refuse('RATE_LIMITED', 'slow down') });
  const err = await rejectionOf(client.who());
  assertError(err, CommandRefusedError, 'RATE_LIMITED');
  assert.equal(err.text, 'slow down');
});

test('a !OK typed by hand through send() resolves with its text', async (t) => {
  const { client } = await chatClient(t, { '!NICK bob': '!OK NICK bob' });
  assert.equal(await client.send('!NICK bob'), '!OK NICK bob');
});

test('a reply of the wrong shape (a server not in chat mode) rejects with BadReplyError; the order holds', async (t) => {
  const { client } = await chatClient(t, {
    '!JOIN a': ACK_TEXT,
    '!NICK b': '!OK JOIN b',
    '!WHO': '!OK WHO',
    '!JOIN c': '!OK JOIN c d',
  });
  const results = await Promise.allSettled([
    client.join('a'),
    client.nick('b'),
    client.who(),
    client.join('c'),
    client.send('m'),
  ]);
  for (const result of results.slice(0, 4)) {
    assert.equal(result.status, 'rejected');
    assertError((result as PromiseRejectedResult).reason, BadReplyError, 'ERR_BAD_REPLY', /chat mode/);
  }
  assert.match(
    String((results[0] as PromiseRejectedResult).reason),
    /expected !OK JOIN <room> in reply to !JOIN, got "Msg received"/,
  );
  assert.deepEqual(results[4], { status: 'fulfilled', value: ACK_TEXT });
});

test('a delivery between a command and its reply does not settle the command', async (t) => {
  const { client } = await chatClient(t, {
    // What a real server may do: the room's old members hear of it before the reply leaves.
    '!JOIN games': (conn) =>
      conn.socket.write(
        Buffer.concat([
          conn.frame(deliveryPayload('message', 'lobby', 'alice', '!OK JOIN games')),
          conn.frame(deliveryPayload('joined', 'games', 'bob')),
          conn.frame('!OK JOIN games'),
        ]),
      ),
  });
  const seen: Delivery[] = [];
  client.on('delivery', (d) => seen.push(d));
  assert.deepEqual(await client.join('games'), { room: 'games' });
  assert.deepEqual(
    seen.map((d) => `${d.kind} ${d.room} ${d.from} ${d.text}`),
    ['message lobby alice !OK JOIN games', 'joined games bob '],
  );
});

test('pipelined commands and messages keep one order', async (t) => {
  const { client, sent } = await chatClient(t, {
    '!NICK ann': '!OK NICK ann',
    '!JOIN r': '!OK JOIN r',
    '!WHO': '!OK WHO r ann',
    '!JOIN bad/': (conn) => conn.refuse('BAD_ROOM', 'no'),
  });
  const [nick, message, join, refused, who] = await Promise.allSettled([
    client.nick('ann'),
    client.send('hi'),
    client.join('r'),
    client.join('bad/'),
    client.who(),
  ]);
  assert.deepEqual(nick, { status: 'fulfilled', value: { name: 'ann' } });
  assert.deepEqual(message, { status: 'fulfilled', value: ACK_TEXT });
  assert.deepEqual(join, { status: 'fulfilled', value: { room: 'r' } });
  assert.ok(refused.status === 'rejected' && refused.reason instanceof BadRoomError);
  assert.deepEqual(who, { status: 'fulfilled', value: { room: 'r', members: ['ann'], leftOut: 0 } });
  assert.deepEqual(sent(), ['!NICK ann', 'hi', '!JOIN r', '!JOIN bad/', '!WHO']);
});
