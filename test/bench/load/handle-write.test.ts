// handleWriter() is the load threads' one lean on Node internals (src/bench/load/handle-write.ts).
// The first test fails loudly when a Node upgrade moves the handle's write away from it.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { test } from 'node:test';
import { handleWriter } from '../../../src/bench/load/handle-write.ts';
import { throwawayCertificate } from '../../../src/bench/load/throwaway-cert.ts';

async function connectClient(t: test.TestContext, port: number): Promise<net.Socket> {
  const client = net.connect(port, '127.0.0.1');
  t.after(() => client.destroy());
  await once(client, 'connect');
  return client;
}

async function listen(t: test.TestContext, onSocket: (s: net.Socket) => void): Promise<number> {
  const server = net.createServer(onSocket);
  t.after(() => server.close());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

test('on the pinned Node a connected TCP socket is written straight to its handle, and the bytes arrive', async (t) => {
  const received: Buffer[] = [];
  const port = await listen(t, (s) => s.on('data', (d: Buffer) => received.push(d)));
  const client = await connectClient(t, port);
  const writer = handleWriter(client);
  assert.equal(
    writer.direct,
    true,
    `Node ${process.version}: the handle's writeBuffer is no longer what handle-write.ts uses`,
  );
  writer.write(Buffer.from('ping '));
  writer.write(Buffer.from('pong'));
  while (Buffer.concat(received).length < 9) await new Promise((r) => setTimeout(r, 5));
  assert.equal(Buffer.concat(received).toString(), 'ping pong');
  assert.equal(client.destroyed, false);
});

test('writes the kernel cannot take at once are queued and arrive whole and in order', async (t) => {
  let peer: net.Socket | null = null;
  const port = await listen(t, (s) => {
    peer = s;
    s.pause(); // nothing read until every write is made: most of them have to wait in libuv
  });
  const client = await connectClient(t, port);
  const writer = handleWriter(client);
  const chunk = 1 << 20;
  const count = 24;
  for (let i = 0; i < count; i++) writer.write(Buffer.alloc(chunk, i));
  while (peer === null) await new Promise((r) => setTimeout(r, 5));
  const got = Buffer.alloc(chunk * count);
  let at = 0;
  const p = peer as net.Socket;
  p.on('data', (d: Buffer) => {
    d.copy(got, at);
    at += d.length;
  });
  p.resume();
  while (at < got.length) await new Promise((r) => setTimeout(r, 10));
  for (let i = 0; i < count; i++) {
    assert.equal(got[i * chunk], i, `chunk ${i} starts where it should`);
    assert.equal(got[(i + 1) * chunk - 1], i, `chunk ${i} ends where it should`);
  }
});

test('a write to a connection the peer reset destroys the socket with the error, as socket.write would', async (t) => {
  let peer: net.Socket | null = null;
  const port = await listen(t, (s) => {
    peer = s;
  });
  const client = await connectClient(t, port);
  const errors: NodeJS.ErrnoException[] = [];
  client.on('error', (e: NodeJS.ErrnoException) => errors.push(e));
  while (peer === null) await new Promise((r) => setTimeout(r, 5));
  (peer as net.Socket).resetAndDestroy();
  const writer = handleWriter(client);
  const closed = new Promise((resolve) => client.once('close', resolve)); // once() would reject at the 'error'
  // The reset may reach the reading side first; either way the socket ends with an error, never a throw.
  for (let i = 0; i < 50 && !client.destroyed; i++) {
    writer.write(Buffer.alloc(64 * 1024));
    await new Promise((r) => setTimeout(r, 10));
  }
  await closed;
  assert.ok(errors.length >= 1, 'the socket reported an error');
  assert.match(errors[0]!.code ?? '', /^(ECONNRESET|EPIPE)$/);
  writer.write(Buffer.from('after close')); // a destroyed socket: dropped, no throw
});

test('a TLS socket is written through socket.write (its handle must encrypt first)', async (t) => {
  const cert = throwawayCertificate();
  const server = tls.createServer({ cert: readFileSync(cert.certFile), key: readFileSync(cert.keyFile) }, (s) =>
    s.pipe(s),
  );
  t.after(() => server.close());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const client = tls.connect({ host: '127.0.0.1', port, ca: cert.ca });
  t.after(() => client.destroy());
  await once(client, 'secureConnect');
  const writer = handleWriter(client);
  assert.equal(writer.direct, false);
  writer.write(Buffer.from('echo me'));
  const [data] = (await once(client, 'data')) as [Buffer];
  assert.equal(data.toString(), 'echo me');
});
