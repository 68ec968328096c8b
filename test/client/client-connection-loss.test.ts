// A server that goes away never leaves a send hanging.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeFrame } from '../../src/protocol/index.ts';
import { ConnectionClosedError, ReplyTimeoutError } from '../../src/client/index.ts';
import { assertError, failsWith } from './expect-error.ts';
import { openClient, startFakeServer } from './fake-server.ts';

test('pending sends reject with ConnectionClosedError when the server resets the connection', async (t) => {
  const server = await startFakeServer(t, { reply: (conn, _p, index) => index === 2 && conn.socket.resetAndDestroy() });
  const client = await openClient(t, server.port);
  const results = await Promise.allSettled([client.send('a'), client.send('b'), client.send('c')]);
  for (const r of results) {
    assert.equal(r.status, 'rejected');
    assertError((r as PromiseRejectedResult).reason, ConnectionClosedError, 'ERR_CONNECTION_CLOSED');
  }
  const { error } = await client.closed;
  assertError(error, ConnectionClosedError, 'ERR_CONNECTION_CLOSED');
  assert.equal((error.cause as NodeJS.ErrnoException).code, 'ECONNRESET', 'the socket error is the cause');
});

test('pending sends reject with ConnectionClosedError when the server closes cleanly (FIN) without replying', async (t) => {
  const server = await startFakeServer(t, { reply: (conn) => conn.socket.end() });
  const client = await openClient(t, server.port);
  const sends = [client.send('a'), client.send('b')];
  for (const send of sends)
    await assert.rejects(send, failsWith(ConnectionClosedError, 'ERR_CONNECTION_CLOSED', /outstanding/));
});

test('a connection dropped in the middle of a reply rejects the send, saying so', async (t) => {
  const server = await startFakeServer(t, {
    reply: (conn) => {
      conn.socket.write(encodeFrame(Buffer.from('this reply is cut short'), conn.headerBytes).subarray(0, 70));
      conn.socket.end();
    },
  });
  const client = await openClient(t, server.port);
  await assert.rejects(
    client.send('x'),
    failsWith(ConnectionClosedError, 'ERR_CONNECTION_CLOSED', /middle of a reply/),
  );
});

test('a server that closes while the client is idle is reported by `closed`', async (t) => {
  const server = await startFakeServer(t, { mode: 'ack' });
  const client = await openClient(t, server.port);
  await client.send('hi');
  server.connections[0]!.socket.end();
  const { error } = await client.closed;
  assertError(error, ConnectionClosedError, 'ERR_CONNECTION_CLOSED');
  await assert.rejects(client.send('anyone?'), failsWith(ConnectionClosedError, 'ERR_CONNECTION_CLOSED'));
});

test('replyTimeoutMs: a reply that never comes rejects with ReplyTimeoutError, later sends with ConnectionClosedError', async (t) => {
  const server = await startFakeServer(t, { mode: 'silent' });
  const client = await openClient(t, server.port, { replyTimeoutMs: 100 });
  const first = client.send('hello?');
  const second = client.send('anyone?');
  await assert.rejects(first, failsWith(ReplyTimeoutError, 'ERR_REPLY_TIMEOUT'));
  await assert.rejects(second, failsWith(ConnectionClosedError, 'ERR_CONNECTION_CLOSED'));
});

test('replyTimeoutMs times each reply from its own send, not from the first one', async (t) => {
  // Each reply comes 50 ms after its message: four in a row take longer than the
  // 200 ms limit in total, yet none of them is late.
  const server = await startFakeServer(t, { reply: (conn, payload) => setTimeout(() => conn.reply(payload), 50) });
  const client = await openClient(t, server.port, { replyTimeoutMs: 200 });
  const replies: string[] = [];
  for (let i = 0; i < 5; i++) replies.push(await client.send(`m${i}`));
  assert.deepEqual(replies, ['m0', 'm1', 'm2', 'm3', 'm4']);
});
