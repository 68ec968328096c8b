// Leaving: close() says !DISCONNECT and waits for the server's FIN; destroy() drops.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACK_TEXT, DISCONNECT_MESSAGE } from '../../src/protocol/index.ts';
import { ConnectionClosedError } from '../../src/client/index.ts';
import { failsWith } from './expect-error.ts';
import { openClient, startFakeServer } from './fake-server.ts';

test('close() sends !DISCONNECT, and resolves after the server replied and closed', async (t) => {
  const server = await startFakeServer(t, { mode: 'ack' });
  const client = await openClient(t, server.port);
  await client.send('hello');
  await client.close();
  const conn = server.connections[0]!;
  assert.deepEqual(conn.received.map(String), ['hello', DISCONNECT_MESSAGE]);
  assert.equal(client.isClosed, true);
  assert.deepEqual(await client.closed, { error: null });
  await conn.closed;
  assert.equal(conn.clientEnded, true, 'the client ended with a FIN, not a reset');
});

test('close() lets pipelined sends get their replies first', async (t) => {
  const server = await startFakeServer(t, { mode: 'echo' });
  const client = await openClient(t, server.port);
  const sends = [client.send('one'), client.send('two')];
  const closing = client.close();
  assert.deepEqual(await Promise.all(sends), ['one', 'two']);
  await closing;
});

test('close() is idempotent and sends !DISCONNECT once', async (t) => {
  const server = await startFakeServer(t, { mode: 'ack' });
  const client = await openClient(t, server.port);
  const first = client.close();
  assert.equal(client.close(), first);
  await first;
  await client.close();
  assert.deepEqual(server.connections[0]!.received.map(String), [DISCONNECT_MESSAGE]);
});

test('sends after close() reject with ConnectionClosedError (ERR_CONNECTION_CLOSED)', async (t) => {
  const server = await startFakeServer(t, { mode: 'ack' });
  const client = await openClient(t, server.port);
  const closing = client.close();
  await assert.rejects(client.send('late'), failsWith(ConnectionClosedError, 'ERR_CONNECTION_CLOSED'));
  await closing;
  await assert.rejects(client.send('later'), failsWith(ConnectionClosedError, 'ERR_CONNECTION_CLOSED'));
});

test('a !DISCONNECT sent by hand gets its reply, the FIN ends the connection cleanly', async (t) => {
  const server = await startFakeServer(t, { mode: 'ack' });
  const client = await openClient(t, server.port);
  assert.equal(await client.send(DISCONNECT_MESSAGE), ACK_TEXT);
  await assert.rejects(
    client.send('ignored by the server anyway'),
    failsWith(ConnectionClosedError, 'ERR_CONNECTION_CLOSED', /DISCONNECT/),
  );
  assert.deepEqual(await client.closed, { error: null });
  await client.close();
  assert.equal(server.connections[0]!.received.length, 1);
});

test('close() resolves when the server is already gone', async (t) => {
  const server = await startFakeServer(t, { mode: 'ack' });
  const client = await openClient(t, server.port);
  if (!server.connections[0]) await server.nextConnection();
  server.connections[0]!.socket.destroy();
  await client.closed;
  await client.close();
});

test('destroy() rejects the sends still waiting and closes without an error', async (t) => {
  const server = await startFakeServer(t, { mode: 'silent' });
  const client = await openClient(t, server.port);
  const waiting = client.send('never answered');
  client.destroy();
  await assert.rejects(waiting, failsWith(ConnectionClosedError, 'ERR_CONNECTION_CLOSED'));
  assert.deepEqual(await client.closed, { error: null });
  client.destroy();
});
