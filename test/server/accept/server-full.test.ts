// SERVER_FULL: maxConnections is one limit for the whole server (all workers); the
// refused connection gets the error right after accept, with nothing sent by it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { once } from 'node:events';
import net from 'node:net';
import { ACK_TEXT, DISCONNECT_MESSAGE, encodeFrame } from '../../../src/protocol/index.ts';
import {
  assertEndedWithError,
  connect,
  connectMany,
  errorOf,
  forEachVariant,
  sleep,
  variantOptions,
  withServer,
  type WireClient,
} from '../../helpers/wire.ts';
import type { RunningServer } from '../../../src/server/server.ts';

async function expectServerFull(client: WireClient): Promise<void> {
  const result = await client.readUntilClose();
  assert.equal(result.frames.length, 1, `exactly one frame, got ${client.describe()}`);
  assertEndedWithError(client, result, 'SERVER_FULL');
}

/** Serves every client once, so that each is known to be accepted (not queued). */
async function roundTrip(clients: WireClient[]): Promise<void> {
  await Promise.all(
    clients.map(async (c) => {
      await c.send('hello');
      assert.equal(await c.readText(), ACK_TEXT, c.describe());
    }),
  );
}

/** Connects until one is accepted (the server sees closes asynchronously). */
async function connectWhenRoom(
  server: RunningServer,
  t: Parameters<typeof connect>[0],
  boundMs = 5000,
): Promise<WireClient> {
  const deadline = performance.now() + boundMs;
  for (;;) {
    const c = await connect(t, server);
    await c.send('hello');
    await c.until(() => c.frames.length > 0 || c.closed, 'a reply');
    if (c.frames.length > 0 && errorOf(c.frames[0]) === null) return c;
    c.destroy();
    if (performance.now() > deadline) throw new Error(`still SERVER_FULL after ${boundMs} ms: ${c.describe()}`);
    await sleep(50);
  }
}

forEachVariant((variant) => {
  test('maxConnections 3: the 4th connection gets !ERROR SERVER_FULL right after accept and is closed', async (t) => {
    const server = await withServer(t, variantOptions(variant, { maxConnections: 3 }));
    const open = await connectMany(t, server, 3);
    await roundTrip(open);
    const fourth = await connect(t, server);
    await expectServerFull(fourth); // it sent nothing at all
    // The three are untouched.
    await roundTrip(open);
    const stats = server.stats();
    assert.equal(stats.refusedConnections, 1);
    assert.equal(stats.activeConnections, 3);
  });

  test('once a connection closes, a new one is accepted again', async (t) => {
    const server = await withServer(t, variantOptions(variant, { maxConnections: 2 }));
    const [a, b] = await connectMany(t, server, 2);
    await roundTrip([a!, b!]);
    await expectServerFull(await connect(t, server));
    await a!.send(DISCONNECT_MESSAGE);
    await a!.readUntilClose();
    const c = await connectWhenRoom(server, t);
    assert.equal(c.closed, false);
    await expectServerFull(await connect(t, server));
    // A connection closed by the client (not by !DISCONNECT) frees its place too.
    b!.destroy();
    const d = await connectWhenRoom(server, t);
    await roundTrip([c, d]);
  });

  test('a connection the server has ended (FIN sent) stops counting at once, even if the client never closes its side', async (t) => {
    const server = await withServer(t, variantOptions(variant, { maxConnections: 1 }));
    // allowHalfOpen: this client reads the server's FIN and keeps its own side open.
    const lingering = net.connect({ host: server.host, port: server.port, allowHalfOpen: true });
    t.after(() => lingering.destroy());
    await once(lingering, 'connect');
    lingering.resume();
    lingering.write(encodeFrame(Buffer.from(DISCONNECT_MESSAGE), 64));
    await once(lingering, 'end');
    // Well inside the server's 5 s close grace period: the place is free already.
    const next = await connectWhenRoom(server, t, 1500);
    assert.equal(next.closed, false);
    assert.equal(lingering.destroyed, false, 'the lingering client is still connected');
    lingering.destroy();
  });

  test('the limit counts connections across all workers: every extra attempt is refused', async (t) => {
    const server = await withServer(t, variantOptions(variant, { maxConnections: 4 }));
    const open = await connectMany(t, server, 4);
    await roundTrip(open);
    // Many attempts, so that with several workers each worker gets some of them.
    const extra = await connectMany(t, server, 12);
    await Promise.all(extra.map(expectServerFull));
    await roundTrip(open);
    const stats = server.stats();
    assert.equal(stats.activeConnections, 4);
    assert.equal(stats.refusedConnections, 12);
    assert.equal(stats.totalConnections, 4);
  });
});
