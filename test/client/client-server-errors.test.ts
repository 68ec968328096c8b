// An `!ERROR <CODE> <text>` reply becomes that ProtocolError class; the connection is then over.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { protocolErrorFor } from '../../src/protocol/index.ts';
import {
  BadHeaderError,
  ConnectionClosedError,
  ErrorCode,
  ProtocolError,
  ServerFullError,
  ShuttingDownError,
  TooLargeError,
  UnexpectedReplyError,
} from '../../src/client/index.ts';
import { assertError, failsWith, rejectionOf } from './expect-error.ts';
import { openClient, startFakeServer } from './fake-server.ts';

for (const code of Object.values(ErrorCode)) {
  test(`an !ERROR ${code} reply rejects the send with that class and code`, async (t) => {
    const expected = protocolErrorFor(code, `details of ${code}`);
    const server = await startFakeServer(t, {
      reply: (conn) => conn.replyError(protocolErrorFor(code, `details of ${code}`)),
    });
    const client = await openClient(t, server.port);
    const err = await rejectionOf(client.send('anything'));
    assert.ok(err instanceof ProtocolError);
    assert.equal(err.constructor, expected.constructor);
    assert.equal(err.code, code);
    assert.equal(err.text, `details of ${code}`);
  });
}

test('after an !ERROR, the later pipelined sends reject with ConnectionClosedError caused by it', async (t) => {
  const server = await startFakeServer(t, {
    reply: (conn, _payload, index) => {
      if (index === 0) conn.reply('fine');
      else if (index === 1) conn.replyError(new TooLargeError('message exceeds the limit of 10 bytes'));
    },
  });
  const client = await openClient(t, server.port);
  const sends = [client.send('a'), client.send('b'), client.send('c'), client.send('d')];
  const results = await Promise.allSettled(sends);
  assert.deepEqual(results[0], { status: 'fulfilled', value: 'fine' });
  assert.equal(results[1]!.status, 'rejected');
  const tooLarge = (results[1] as PromiseRejectedResult).reason;
  assert.ok(tooLarge instanceof TooLargeError);
  for (const later of results.slice(2)) {
    assert.equal(later.status, 'rejected');
    const reason: unknown = (later as PromiseRejectedResult).reason;
    assertError(reason, ConnectionClosedError, 'ERR_CONNECTION_CLOSED');
    assert.equal(reason.cause, tooLarge);
  }
  const info = await client.closed;
  assert.equal(info.error, tooLarge);
  await assert.rejects(client.send('e'), failsWith(ConnectionClosedError, 'ERR_CONNECTION_CLOSED'));
});

test('an !ERROR that arrives with no send waiting (SERVER_FULL at accept) is reported by `closed`', async (t) => {
  const server = await startFakeServer(t, {
    onConnection: (conn) => conn.replyError(new ServerFullError('10000 connections are already open')),
  });
  const client = await openClient(t, server.port);
  const { error } = await client.closed;
  assert.ok(error instanceof ServerFullError);
  assert.equal(error.code, 'SERVER_FULL');
  const late = await rejectionOf(client.send('too late'));
  assertError(late, ConnectionClosedError, 'ERR_CONNECTION_CLOSED');
  assert.equal(late.cause, error);
});

test('SHUTTING_DOWN while idle closes the client with that error', async (t) => {
  const server = await startFakeServer(t, { mode: 'ack' });
  const client = await openClient(t, server.port);
  await client.send('hello');
  server.connections[0]!.replyError(new ShuttingDownError('the server is stopping'));
  const { error } = await client.closed;
  assert.ok(error instanceof ShuttingDownError);
  assert.equal(client.isClosed, true);
});

test('an !ERROR with a code this client does not know still rejects as a ProtocolError', async (t) => {
  const server = await startFakeServer(t, {
    reply: (conn) => {
      conn.reply('!ERROR RATE_LIMITED slow down');
      conn.socket.end();
    },
  });
  const client = await openClient(t, server.port);
  await assert.rejects(
    client.send('x'),
    (err: unknown) =>
      err instanceof ProtocolError && (err.code as string) === 'RATE_LIMITED' && err.text === 'slow down',
  );
});

test("a reply with a malformed header rejects with the decoder's BadHeaderError", async (t) => {
  const server = await startFakeServer(t, { reply: (conn) => conn.socket.write(Buffer.from('12x'.padEnd(64, ' '))) });
  const client = await openClient(t, server.port);
  await assert.rejects(client.send('x'), failsWith(BadHeaderError, 'BAD_HEADER'));
});

test('a reply larger than maxMessageBytes rejects with TOO_LARGE as soon as its header arrives', async (t) => {
  const server = await startFakeServer(t, {
    // Only the header: the payload never comes, so a client that waited for it would hang.
    reply: (conn) => conn.socket.write(Buffer.from('2000'.padEnd(conn.headerBytes, ' '))),
  });
  const client = await openClient(t, server.port, { maxMessageBytes: 1000 });
  await assert.rejects(client.send('x'), failsWith(TooLargeError, 'TOO_LARGE'));
});

test('a reply to no message fails the connection with UnexpectedReplyError', async (t) => {
  const server = await startFakeServer(t, { onConnection: (conn) => conn.reply('unsolicited') });
  const client = await openClient(t, server.port);
  const { error } = await client.closed;
  assertError(error, UnexpectedReplyError, 'ERR_UNEXPECTED_REPLY');
});
