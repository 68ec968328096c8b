// The tutorial's conversation through the client library: a message, its reply.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACK_TEXT } from '../../src/protocol/index.ts';
import { HeaderOverflowError, InvalidMessageError } from '../../src/client/index.ts';
import { failsWith } from './expect-error.ts';
import { openClient, startFakeServer } from './fake-server.ts';

test('send() resolves with the reply text (`Msg received` from an ack server)', async (t) => {
  const server = await startFakeServer(t, { mode: 'ack' });
  const client = await openClient(t, server.port);
  assert.equal(await client.send('Hello World!'), ACK_TEXT);
  assert.deepEqual(server.connections[0]!.received.map(String), ['Hello World!']);
});

test('send() frames the message with the configured header size', async (t) => {
  const server = await startFakeServer(t, { mode: 'echo', headerBytes: 8 });
  const client = await openClient(t, server.port, { headerBytes: 8 });
  assert.equal(await client.send('short header'), 'short header');
});

test('sendBuffer() resolves with the reply as a Buffer', async (t) => {
  const server = await startFakeServer(t, { mode: 'ack' });
  const client = await openClient(t, server.port);
  const reply = await client.sendBuffer(Uint8Array.of(1, 2, 3));
  assert.ok(Buffer.isBuffer(reply));
  assert.equal(reply.toString(), ACK_TEXT);
});

test('each frame leaves the client in one TCP segment, header and payload together', async (t) => {
  // Two writes per message (the tutorial's pattern) would show up here as separate chunks.
  const chunks: number[] = [];
  const server = await startFakeServer(t, {
    mode: 'ack',
    onConnection: (conn) => conn.socket.prependListener('data', (chunk: Buffer) => chunks.push(chunk.length)),
  });
  const client = await openClient(t, server.port);
  for (let i = 0; i < 5; i++) await client.send('one segment please');
  assert.deepEqual(chunks, [82, 82, 82, 82, 82]);
});

test('a message too long for the header size rejects with HeaderOverflowError and the connection stays usable', async (t) => {
  const server = await startFakeServer(t, { mode: 'echo', headerBytes: 4 });
  const client = await openClient(t, server.port, { headerBytes: 4 });
  await assert.rejects(client.send(Buffer.alloc(10_000)), failsWith(HeaderOverflowError, 'ERR_HEADER_OVERFLOW'));
  assert.equal(await client.send('still fine'), 'still fine');
});

test('send() of something that is not a string or bytes rejects with InvalidMessageError', async (t) => {
  const server = await startFakeServer(t, { mode: 'ack' });
  const client = await openClient(t, server.port);
  await assert.rejects(client.send(42 as unknown as string), failsWith(InvalidMessageError, 'ERR_INVALID_MESSAGE'));
  assert.equal(await client.send('ok'), ACK_TEXT);
});
