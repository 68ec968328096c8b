// Opening a connection: options checked first, failures with a code and a cause.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect, ERR_CONNECT } from '../../src/client/index.ts';
import { HandoffError } from '../../src/protocol/index.ts';
import { closedPort, openClient, startFakeServer } from './fake-server.ts';

test('connecting to a port nothing listens on rejects with ERR_CONNECT, the socket error as cause', async () => {
  const port = await closedPort();
  const err = await connect({ port }).then(
    () => assert.fail('connect should reject'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof HandoffError);
  assert.equal(err.code, ERR_CONNECT);
  assert.equal((err.cause as NodeJS.ErrnoException).code, 'ECONNREFUSED');
  assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}: connection refused`));
});

test('connect() resolves once connected, with the options it resolved', async (t) => {
  const server = await startFakeServer(t);
  const client = await openClient(t, server.port);
  assert.equal(client.options.host, '127.0.0.1');
  assert.equal(client.options.headerBytes, 64);
  assert.equal(client.options.ack, 'framed');
  assert.equal(client.isClosed, false);
  await server.nextConnection();
});

test('invalid options reject before any connection is tried (ERR_INVALID_OPTION)', async (t) => {
  const server = await startFakeServer(t);
  await assert.rejects(connect({ port: server.port, headerBytes: 2 }), { code: 'ERR_INVALID_OPTION' });
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(server.connections.length, 0);
});
