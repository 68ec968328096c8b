// Chat mode: frames the server pushes between replies are deliveries, never replies.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BadReplyError, type Client, type Delivery, InvalidOptionError, TimeoutError } from '../../src/client/index.ts';
import { deliveryPayload } from '../../src/protocol/chat.ts';
import { ACK_TEXT } from '../../src/protocol/index.ts';
import { assertError, failsWith, rejectionOf } from './expect-error.ts';
import { openClient, startFakeServer } from './fake-server.ts';

const chat = { chat: true } as const;

/** Collects every delivery event of `client`, whatever its kind. */
function recordEvents(client: Client): Delivery[] {
  const seen: Delivery[] = [];
  client.on('delivery', (delivery) => seen.push(delivery));
  return seen;
}

/** Resolves once `seen` holds `count` deliveries (bounded). */
async function until(seen: Delivery[], count: number, ms = 5_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (seen.length < count) {
    if (performance.now() > deadline) throw new Error(`${seen.length} of ${count} deliveries within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A chat client and its server-side connection, once both are up. */
async function chatPair(t: import('node:test').TestContext, options = {}) {
  const server = await startFakeServer(t, { mode: 'ack' });
  const client = await openClient(t, server.port, { ...chat, ...options });
  const conn = await server.nextConnection();
  return { server, client, conn };
}

test('a !MSG delivery is a message event: room, from, and the text byte for byte (spaces, newlines, invalid UTF-8, empty)', async (t) => {
  const { client, conn } = await chatPair(t);
  const texts = [
    Buffer.from('hello world'),
    Buffer.from('  two  spaces  '),
    Buffer.from('line 1\nline 2\r\n'),
    Buffer.alloc(0),
    Buffer.from([0x68, 0xff, 0xfe, 0x20, 0xc3]),
    Buffer.from('Msg received'),
    Buffer.from('!NO BAD_NAME not a refusal'),
    Buffer.from('!ERROR TIMEOUT not an error'),
  ];
  const messages: Delivery[] = [];
  client.on('message', (delivery) => messages.push(delivery));
  for (const text of texts) conn.deliver('message', 'lobby', 'alice', text);
  await until(messages, texts.length);
  for (const [i, text] of texts.entries()) {
    const delivery = messages[i]!;
    assert.equal(delivery.kind, 'message');
    assert.equal(delivery.room, 'lobby');
    assert.equal(delivery.from, 'alice');
    assert.deepEqual(delivery.bytes, text);
    assert.equal(delivery.text, text.toString('utf8'));
  }
  assert.equal(await client.send('still fine'), ACK_TEXT, 'the connection goes on');
});

test('!JOINED and !LEFT are joined and left events, with empty text; `delivery` sees every kind in order', async (t) => {
  const { client, conn } = await chatPair(t);
  const joined: Delivery[] = [];
  const left: Delivery[] = [];
  client.on('joined', (d) => joined.push(d));
  client.on('left', (d) => left.push(d));
  const all = recordEvents(client);
  conn.deliver('joined', 'lobby', '127.0.0.1:5123');
  conn.deliver('message', 'lobby', 'bob', 'hi');
  conn.deliver('left', 'lobby', '[::1]:40000');
  await until(all, 3);
  assert.deepEqual(joined, [
    { kind: 'joined', room: 'lobby', from: '127.0.0.1:5123', text: '', bytes: Buffer.alloc(0) },
  ]);
  assert.deepEqual(left, [{ kind: 'left', room: 'lobby', from: '[::1]:40000', text: '', bytes: Buffer.alloc(0) }]);
  assert.deepEqual(
    all.map((d) => d.kind),
    ['joined', 'message', 'left'],
  );
});

for (const delivery of ['in one TCP write', 'one byte per TCP segment'] as const) {
  test(`deliveries between pipelined replies never settle a send (${delivery})`, async (t) => {
    const server = await startFakeServer(t, {
      reply: (conn, _payload, index) => {
        if (index < 2) return; // hold the replies: all of them go out with the third message
        const bytes = Buffer.concat([
          conn.frame(deliveryPayload('message', 'lobby', 'alice', 'first')),
          conn.frame('reply 0'),
          conn.frame(deliveryPayload('joined', 'lobby', 'bob')),
          conn.frame(deliveryPayload('message', 'lobby', 'bob', 'Msg received')),
          conn.frame('reply 1'),
          conn.frame(deliveryPayload('left', 'lobby', 'alice')),
          conn.frame('reply 2'),
          conn.frame(deliveryPayload('message', 'lobby', 'bob', '')),
        ]);
        if (delivery === 'in one TCP write') conn.socket.write(bytes);
        else conn.dribble(bytes);
      },
    });
    const client = await openClient(t, server.port, chat);
    const seen = recordEvents(client);
    const replies = await Promise.all([client.send('a'), client.send('b'), client.send('c')]);
    assert.deepEqual(replies, ['reply 0', 'reply 1', 'reply 2']);
    await until(seen, 5);
    assert.deepEqual(
      seen.map((d) => `${d.kind} ${d.from} ${d.text}`),
      ['message alice first', 'joined bob ', 'message bob Msg received', 'left alice ', 'message bob '],
    );
    assert.equal(client.pendingCount, 0);
  });
}

test('a delivery with no send waiting is not an unexpected reply: the connection goes on', async (t) => {
  const { client, conn } = await chatPair(t);
  const seen = recordEvents(client);
  conn.deliver('message', 'lobby', 'alice', 'unsolicited, and that is fine');
  await until(seen, 1);
  assert.equal(client.isClosed, false);
  assert.equal(await client.send('hello'), ACK_TEXT);
});

test('outside chat mode nothing changes: an echoed "!MSG ..." is a reply', async (t) => {
  const server = await startFakeServer(t, { mode: 'echo' });
  const client = await openClient(t, server.port);
  const seen = recordEvents(client);
  assert.equal(await client.send('!MSG lobby alice hi'), '!MSG lobby alice hi');
  assert.equal(await client.send('!NO BAD_NAME x'), '!NO BAD_NAME x', 'and !NO is a reply too');
  assert.deepEqual(seen, []);
});

test('a malformed delivery fails the connection with BadReplyError', async (t) => {
  const { client, conn } = await chatPair(t);
  conn.reply('!MSG lobby-and-nothing-else');
  const { error } = await client.closed;
  assertError(error, BadReplyError, 'ERR_BAD_REPLY', /malformed delivery/);
});

test('!ERROR is still fatal in chat mode', async (t) => {
  const server = await startFakeServer(t, {
    reply: (conn) => conn.replyError(new TimeoutError('no frame within 300 s')),
  });
  const client = await openClient(t, server.port, chat);
  await assert.rejects(client.send('x'), failsWith(TimeoutError, 'TIMEOUT'));
  assert.ok((await client.closed).error instanceof TimeoutError);
});

test('deliveries(): what arrived before the loop began comes first, in order; the loop ends when the connection closes', async (t) => {
  const { client, conn } = await chatPair(t);
  for (let i = 0; i < 5; i++) conn.deliver('message', 'lobby', 'alice', `early ${i}`);
  await client.send('after the early ones'); // the deliveries were read before this reply
  const texts: string[] = [];
  const loop = (async () => {
    for await (const delivery of client.deliveries()) texts.push(delivery.text);
  })();
  conn.deliver('message', 'lobby', 'alice', 'late');
  await client.send('and the late one is read too'); // its ack comes after the delivery
  conn.socket.end();
  await loop; // ends, does not hang
  assert.deepEqual(texts, ['early 0', 'early 1', 'early 2', 'early 3', 'early 4', 'late']);
});

test('deliveries(): a loop that breaks and starts again misses nothing', async (t) => {
  const { client, conn } = await chatPair(t);
  for (const text of ['a', 'b', 'c', 'd']) conn.deliver('message', 'lobby', 'alice', text);
  const first: string[] = [];
  for await (const delivery of client.deliveries()) {
    first.push(delivery.text);
    if (first.length === 2) break;
  }
  const second: string[] = [];
  for await (const delivery of client.deliveries()) {
    second.push(delivery.text);
    if (second.length === 2) break;
  }
  assert.deepEqual(
    [first, second],
    [
      ['a', 'b'],
      ['c', 'd'],
    ],
  );
});

test('deliveries(): a waiting loop gets each delivery as it arrives, and the events see it too', async (t) => {
  const { client, conn } = await chatPair(t);
  const events = recordEvents(client);
  const iterator = client.deliveries();
  const next = iterator.next(); // waits: nothing has arrived
  conn.deliver('joined', 'lobby', 'carol');
  const { value, done } = await next;
  assert.equal(done, false);
  assert.deepEqual(value, { kind: 'joined', room: 'lobby', from: 'carol', text: '', bytes: Buffer.alloc(0) });
  assert.deepEqual(events, [value]);
  const end = iterator.next();
  client.destroy();
  assert.deepEqual(await end, { value: undefined, done: true }, 'a waiting loop ends with the connection');
});

test('deliveries() keeps at most maxBufferedDeliveryBytes unread: the oldest are dropped and counted', async (t) => {
  // Each '!MSG lobby alice N' payload is 18 bytes: 40 bytes hold two.
  const { client, conn } = await chatPair(t, { maxBufferedDeliveryBytes: 40 });
  const events = recordEvents(client);
  for (let i = 0; i < 5; i++) conn.deliver('message', 'lobby', 'alice', String(i));
  await until(events, 5);
  assert.equal(events.length, 5, 'events see every delivery whatever the buffer holds');
  assert.equal(client.droppedDeliveries, 3);
  client.destroy();
  const kept: string[] = [];
  for await (const delivery of client.deliveries()) kept.push(delivery.text);
  assert.deepEqual(kept, ['3', '4']);
});

test('deliveries(), join(), nick() and who() need chat mode: InvalidOptionError naming `chat`', async (t) => {
  const server = await startFakeServer(t, { mode: 'ack' });
  const client = await openClient(t, server.port);
  assert.throws(
    () => client.deliveries(),
    failsWith(InvalidOptionError, 'ERR_INVALID_OPTION', /needs chat set to true/),
  );
  for (const call of [client.join('lobby'), client.nick('bob'), client.who()]) {
    const err = await rejectionOf(call);
    assertError(err, InvalidOptionError, 'ERR_INVALID_OPTION');
    assert.equal(err.option, 'chat');
  }
  assert.deepEqual(server.connections[0]!.received, [], 'nothing was sent');
});
