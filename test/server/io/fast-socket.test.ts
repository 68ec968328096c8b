// adoptSocket() is the one place that relies on Node internals (see src/server/fast-socket.ts).
// These tests fail loudly if a Node upgrade changes what it relies on.
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { test } from 'node:test';
import { adoptSocket, UnsupportedRuntimeError } from '../../../src/server/io/fast-socket.ts';
import { startServer } from '../../../src/server/server.ts';
import { encodeTextFrame, FrameDecoder } from '../../../src/protocol/index.ts';

async function acceptOne(t: test.TestContext): Promise<{ accepted: net.Socket; client: net.Socket }> {
  const server = net.createServer({ pauseOnConnect: true });
  t.after(() => server.close());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const client = net.connect(port, '127.0.0.1');
  t.after(() => client.destroy());
  const [accepted] = (await once(server, 'connection')) as [net.Socket];
  return { accepted, client };
}

test('adoptSocket reads through onread into the given buffer and writes back', async (t) => {
  const { accepted, client } = await acceptOne(t);
  const buffer = Buffer.alloc(1024);
  const reads: string[] = [];
  const adopted = adoptSocket(accepted, {
    buffer,
    writableHighWaterMark: 4096,
    callback(this: net.Socket, n: number, buf: Buffer) {
      assert.equal(buf, buffer, 'the callback gets the very buffer it was given');
      reads.push(buf.toString('latin1', 0, n));
      this.write('pong');
    },
  });
  t.after(() => adopted.destroy());
  assert.equal(adopted.writableHighWaterMark, 4096);
  client.write('ping');
  const [reply] = await once(client, 'data');
  assert.equal(String(reply), 'pong');
  assert.deepEqual(reads, ['ping']);
});

test('an adopted socket stops reading on pause() and resumes on resume()', async (t) => {
  const { accepted, client } = await acceptOne(t);
  let reads = 0;
  const adopted = adoptSocket(accepted, {
    buffer: Buffer.alloc(64),
    writableHighWaterMark: 1024,
    callback: () => {
      reads++;
    },
  });
  t.after(() => adopted.destroy());
  adopted.pause();
  client.write('x');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(reads, 0, 'nothing is read while paused');
  adopted.resume();
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(reads, 1);
});

test('adoptSocket refuses a socket whose handle is gone with ERR_UNSUPPORTED_RUNTIME', () => {
  const socket = new net.Socket();
  assert.throws(
    () => adoptSocket(socket, { buffer: Buffer.alloc(8), writableHighWaterMark: 1024, callback: () => {} }),
    (err: unknown) => err instanceof UnsupportedRuntimeError && err.code === 'ERR_UNSUPPORTED_RUNTIME',
  );
});

// A worker's event loop must keep running between tasks: its connections are served by
// that loop, not by task messages (src/server/pool.ts explains the atomics choice).
test('a worker keeps serving its connection while no new task arrives', async (t) => {
  const server = await startServer({ host: '127.0.0.1', port: 0, workers: 1, silent: true });
  t.after(() => server.close());
  const client = net.connect(server.port, '127.0.0.1');
  t.after(() => client.destroy());
  await once(client, 'connect');
  const replies: string[] = [];
  const decoder = new FrameDecoder(
    {},
    (p) => replies.push(p.toString()),
    (e) => assert.fail(e),
  );
  client.on('data', (chunk: Buffer) => decoder.push(chunk));
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 150)); // the worker is idle between these
    client.write(encodeTextFrame(`hello ${i}`, 64));
    while (replies.length <= i) await once(client, 'data');
  }
  assert.deepEqual(replies, ['Msg received', 'Msg received', 'Msg received']);
});
