// Graceful close(): SHUTTING_DOWN to every open connection, then each is closed;
// no new connections afterwards.
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { test } from 'node:test';
import { ACK_TEXT, encodeFrame } from '../../src/protocol/index.ts';
import {
  assertEndedWithError,
  connect,
  connectMany,
  errorOf,
  forEachVariant,
  variantOptions,
  withServer,
  type WireClient,
} from '../helpers/wire.ts';

async function expectShuttingDown(client: WireClient, before: string[] = []): Promise<void> {
  const result = await client.readUntilClose();
  assert.deepEqual(
    result.frames.slice(0, before.length).map((f) => f.toString()),
    before,
  );
  assert.equal(result.frames.length, before.length + 1, `replies then one error frame, got ${client.describe()}`);
  assertEndedWithError(client, result, 'SHUTTING_DOWN');
}

forEachVariant((variant) => {
  test('close() sends !ERROR SHUTTING_DOWN to every open connection, then closes them', async (t) => {
    const server = await withServer(t, variantOptions(variant));
    const idle = await connect(t, server);
    const served = await connect(t, server);
    const midFrame = await connect(t, server);
    const many = await connectMany(t, server, 20);
    await served.send('hello');
    assert.equal(await served.readText(), ACK_TEXT);
    await midFrame.sendRaw(encodeFrame(Buffer.from('unfinished'), 64).subarray(0, 40));
    // Make sure every connection has been handed to the server before closing.
    await Promise.all(
      many.map(async (c) => {
        await c.send('x');
        await c.readText();
      }),
    );
    const closing = server.close();
    await Promise.all([
      expectShuttingDown(idle),
      expectShuttingDown(served),
      expectShuttingDown(midFrame),
      ...many.map((c) => expectShuttingDown(c)),
    ]);
    await closing;
  });

  test('after close() resolves, new connections are refused', async (t) => {
    const server = await withServer(t, variantOptions(variant));
    const { host, port } = server;
    await server.close();
    const socket = net.connect({ host, port });
    t.after(() => socket.destroy());
    const [err] = (await once(socket, 'error')) as [NodeJS.ErrnoException];
    assert.equal(err.code, 'ECONNREFUSED');
  });

  test('close() with no open connection resolves promptly', async (t) => {
    const server = await withServer(t, variantOptions(variant));
    const started = performance.now();
    await server.close();
    assert.ok(performance.now() - started < 5000);
  });

  test('close() after pipelined echo replies: SHUTTING_DOWN is the one frame that follows them', async (t) => {
    const server = await withServer(t, variantOptions(variant, { mode: 'echo' }));
    const client = await connect(t, server);
    const texts = Array.from({ length: 20 }, (_, i) => `m${i}`);
    await client.sendRaw(Buffer.concat(texts.map((s) => encodeFrame(Buffer.from(s), 64))));
    await client.readFrames(texts.length);
    await server.close();
    const { frames } = await client.readUntilClose();
    assert.equal(frames.length, 1);
    assert.equal(errorOf(frames[0])?.code, 'SHUTTING_DOWN');
  });
});
