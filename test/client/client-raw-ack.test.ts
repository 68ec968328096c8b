// ack: 'raw': the tutorial's original server, which acks with 12 bare bytes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACK_TEXT, TooLargeError } from '../../src/protocol/index.ts';
import { BadReplyError } from '../../src/client/index.ts';
import { failsWith } from './expect-error.ts';
import { openClient, startFakeServer } from './fake-server.ts';

test('with ack raw, each reply is the 12 raw bytes `Msg received`', async (t) => {
  const server = await startFakeServer(t, { mode: 'raw-ack' });
  const client = await openClient(t, server.port, { ack: 'raw' });
  assert.equal(await client.send('Hello World!'), ACK_TEXT);
  assert.equal(await client.send('Hello Tim!'), ACK_TEXT);
});

test('with ack raw, pipelined acks that arrive glued together are split 12 bytes at a time', async (t) => {
  const server = await startFakeServer(t, {
    reply: (conn, _payload, index) => {
      if (index === 9) conn.socket.write(Buffer.from(ACK_TEXT.repeat(10)));
    },
  });
  const client = await openClient(t, server.port, { ack: 'raw' });
  const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => client.send(`m${i}`)));
  assert.deepEqual(replies, Array(10).fill(ACK_TEXT));
});

test('with ack raw, close() gets the raw ack to !DISCONNECT and the FIN', async (t) => {
  const server = await startFakeServer(t, { mode: 'raw-ack' });
  const client = await openClient(t, server.port, { ack: 'raw' });
  await client.send('hi');
  await client.close();
  assert.deepEqual(await client.closed, { error: null });
});

test('with ack raw, a framed !ERROR is still understood', async (t) => {
  const server = await startFakeServer(t, {
    reply: (conn, _payload, index) => {
      if (index === 0) conn.socket.write(ACK_TEXT);
      else conn.replyError(new TooLargeError('message exceeds the limit of 8 bytes'));
    },
  });
  const client = await openClient(t, server.port, { ack: 'raw' });
  assert.equal(await client.send('ok'), ACK_TEXT);
  await assert.rejects(client.send('far too long'), (err: unknown) => err instanceof TooLargeError);
});

test('with ack raw, bytes that are not `Msg received` fail with BadReplyError', async (t) => {
  const server = await startFakeServer(t, { reply: (conn) => conn.socket.write('Msg rejected') });
  const client = await openClient(t, server.port, { ack: 'raw' });
  await assert.rejects(client.send('x'), failsWith(BadReplyError, 'ERR_BAD_REPLY'));
});
