// Opening a connection: options checked first, failures with a code and a cause.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { ConnectError, ConnectTimeoutError, connect, InvalidOptionError } from '../../src/client/index.ts';
import { assertError, failsWith, rejectionOf } from './expect-error.ts';
import { closedPort, openClient, startFakeServer } from './fake-server.ts';

test('connecting to a port nothing listens on rejects with ConnectError (ERR_CONNECT), the socket error as cause', async () => {
  const port = await closedPort();
  const err = await rejectionOf(connect({ port }));
  assertError(err, ConnectError, 'ERR_CONNECT', new RegExp(`127\\.0\\.0\\.1:${port}: connection refused`));
  assert.equal((err.cause as NodeJS.ErrnoException).code, 'ECONNREFUSED');
});

test('a connection not made within connectTimeoutMs rejects with ConnectTimeoutError (ERR_CONNECT_TIMEOUT)', async (t) => {
  // A socket that never connects stands for a host that drops the SYN.
  const sockets: net.Socket[] = [];
  t.mock.method(net, 'connect', () => {
    const socket = new net.Socket();
    sockets.push(socket);
    return socket;
  });
  await assert.rejects(
    connect({ port: 5050, connectTimeoutMs: 50 }),
    failsWith(ConnectTimeoutError, 'ERR_CONNECT_TIMEOUT', /127\.0\.0\.1:5050: no answer within 0\.05 s/),
  );
  assert.equal(sockets.length, 1);
  assert.equal(sockets[0]!.destroyed, true, 'the attempt is abandoned');
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

test('invalid options reject before any connection is tried (InvalidOptionError)', async (t) => {
  const server = await startFakeServer(t);
  await assert.rejects(
    connect({ port: server.port, headerBytes: 2 }),
    failsWith(InvalidOptionError, 'ERR_INVALID_OPTION', /^headerBytes /),
  );
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(server.connections.length, 0);
});
