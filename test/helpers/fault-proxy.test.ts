// The fault proxy the Redis fault tests stand on does what it says, against a plain echo server.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { test, type TestContext } from 'node:test';
import { FaultProxy } from './fault-proxy.ts';
import { eventually, sleep } from './wire.ts';

async function echoBehindProxy(t: TestContext): Promise<FaultProxy> {
  const echo = net.createServer((s) => s.pipe(s).on('error', () => {}));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => echo.close(resolve)));
  return FaultProxy.start(t, { port: (echo.address() as net.AddressInfo).port });
}

async function client(t: TestContext, proxy: FaultProxy) {
  const socket = net.connect({ host: '127.0.0.1', port: proxy.port });
  t.after(() => socket.destroy());
  socket.on('error', () => {});
  await once(socket, 'connect');
  const got: Buffer[] = [];
  socket.on('data', (d: Buffer) => got.push(d));
  let closed: 'reset' | 'closed' | null = null;
  socket.on('error', () => (closed = 'reset'));
  socket.on('close', () => (closed ??= 'closed'));
  return { socket, text: () => Buffer.concat(got).toString(), closed: () => closed };
}

test('fault proxy: pass, stall (then everything arrives in order), slow, drop (then reset), reset', async (t) => {
  const proxy = await echoBehindProxy(t);
  const a = await client(t, proxy);
  a.socket.write('one ');
  await eventually(() => a.text() === 'one ', 'pass');

  proxy.set('stall');
  a.socket.write('two ');
  await sleep(200);
  assert.equal(a.text(), 'one ', 'nothing goes through a stall');
  proxy.set('pass');
  await eventually(() => a.text() === 'one two ', 'the stalled bytes, after the stall');

  proxy.set('slow', 300);
  const sentAt = performance.now();
  a.socket.write('three ');
  await eventually(() => a.text() === 'one two three ', 'slow', 3000);
  assert.ok(performance.now() - sentAt >= 550, 'held both ways');
  proxy.set('pass');

  proxy.set('drop');
  a.socket.write('lost ');
  await sleep(200);
  assert.equal(a.text(), 'one two three ');
  assert.equal(a.closed(), null, 'a drop keeps the connection open');
  proxy.set('pass');
  await eventually(() => a.closed() !== null, 'a connection that lost bytes is reset on pass');

  const b = await client(t, proxy);
  b.socket.write('fine');
  await eventually(() => b.text() === 'fine', 'new connections pass');
  proxy.set('reset');
  await eventually(() => b.closed() === 'reset', 'reset resets open connections');
  const c = net.connect({ host: '127.0.0.1', port: proxy.port });
  const error = await once(c, 'error').then(([e]) => (e as NodeJS.ErrnoException).code);
  assert.equal(error, 'ECONNRESET', 'and new ones');
});
