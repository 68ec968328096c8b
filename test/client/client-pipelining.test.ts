// Many sends before any reply: replies settle the sends in order.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeFrame } from '../../src/protocol/index.ts';
import { openClient, startFakeServer } from './fake-server.ts';

test('100 pipelined sends resolve in order, each with its own reply', async (t) => {
  const server = await startFakeServer(t, { mode: 'echo' });
  const client = await openClient(t, server.port);
  const sends = Array.from({ length: 100 }, (_, i) => client.send(`message ${i}`));
  assert.equal(client.pendingCount, 100);
  const replies = await Promise.all(sends);
  assert.deepEqual(
    replies,
    Array.from({ length: 100 }, (_, i) => `message ${i}`),
  );
  assert.equal(client.pendingCount, 0);
});

test('replies coalesced into one TCP write are all delivered', async (t) => {
  // The server holds replies back and answers all of them in a single write.
  const held: Buffer[] = [];
  const server = await startFakeServer(t, {
    reply: (conn, payload) => {
      held.push(encodeFrame(payload, conn.headerBytes));
      if (held.length === 20) conn.socket.write(Buffer.concat(held));
    },
  });
  const client = await openClient(t, server.port);
  const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => client.send(String(i))));
  assert.deepEqual(
    replies,
    Array.from({ length: 20 }, (_, i) => String(i)),
  );
});

test('replies that arrive one byte per TCP segment are reassembled', async (t) => {
  const server = await startFakeServer(t, {
    reply: (conn, payload) => conn.dribble(encodeFrame(payload, conn.headerBytes)),
  });
  const client = await openClient(t, server.port);
  assert.equal(await client.send('slowly, byte by byte'), 'slowly, byte by byte');
});

test('sends of every kind share one order: send, sendBuffer and sendJson interleaved', async (t) => {
  const server = await startFakeServer(t, { mode: 'echo' });
  const client = await openClient(t, server.port);
  const [a, b, c] = await Promise.all([client.send('a'), client.sendBuffer('b'), client.sendJson({ c: 3 })]);
  assert.equal(a, 'a');
  assert.equal(b.toString(), 'b');
  assert.deepEqual(c, { c: 3 });
});
