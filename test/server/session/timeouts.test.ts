// frameTimeoutMs (first byte of a frame to its last) and idleTimeoutMs (from connect
// or the last complete frame; part of a frame does not restart it; 0 = never).
// Small configured timeouts, generous margins: no assertion depends on tight timing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACK_TEXT, encodeFrame } from '../../../src/protocol/index.ts';
import {
  assertEndedWithError,
  connect,
  forEachVariant,
  sleep,
  variantOptions,
  withServer,
  type WireClient,
  type ServerVariant,
  TLS_VARIANTS,
} from '../../helpers/wire.ts';

async function expectTimeout(client: WireClient, timeoutMs = 8000): Promise<Buffer[]> {
  const result = await client.readUntilClose(timeoutMs);
  assert.ok(result.frames.length >= 1, `an error frame, got ${client.describe()}`);
  assertEndedWithError(client, result, 'TIMEOUT');
  return result.frames;
}

/** Declared twice: the TLS run after the plain ones, so that its CPU does not slow their timing. */
const timeoutCases = (variant: ServerVariant): void => {
  test('frameTimeoutMs: half a frame then silence gets !ERROR TIMEOUT, then the connection closes', async (t) => {
    const server = await withServer(t, variantOptions(variant, { frameTimeoutMs: 400, idleTimeoutMs: 0 }));
    const client = await connect(t, server);
    const frame = encodeFrame(Buffer.from('0123456789'), 64);
    const started = performance.now();
    await client.sendRaw(frame.subarray(0, 37)); // header only partly there
    const frames = await expectTimeout(client);
    assert.equal(frames.length, 1);
    // A timer cannot fire before it is due: the server cannot have seen the first byte before `started`.
    assert.ok(performance.now() - started >= 350, 'not before the frame timeout');
  });

  test('frameTimeoutMs: a header complete but its payload half there also times out', async (t) => {
    const server = await withServer(t, variantOptions(variant, { frameTimeoutMs: 400, idleTimeoutMs: 0 }));
    const client = await connect(t, server);
    const frame = encodeFrame(Buffer.alloc(100, 0x61), 64);
    await client.sendRaw(frame.subarray(0, 64 + 50));
    await expectTimeout(client);
  });

  test('frameTimeoutMs runs from the first byte to the last: bytes trickling in do not restart it', async (t) => {
    const server = await withServer(t, variantOptions(variant, { frameTimeoutMs: 400, idleTimeoutMs: 0 }));
    const client = await connect(t, server);
    const frame = encodeFrame(Buffer.from('slow'), 64);
    // One byte every 100 ms: the frame would take 6.8 s, far beyond 400 ms.
    let stop = false;
    t.after(() => {
      stop = true;
    });
    const trickle = (async () => {
      for (let i = 0; i < frame.length && !stop && !client.closed; i++) {
        await client.sendRaw(frame.subarray(i, i + 1)).catch(() => {});
        await sleep(100);
      }
    })();
    await expectTimeout(client);
    stop = true;
    await trickle;
  });

  test('frameTimeoutMs: frames completed in time are answered and the connection stays open', async (t) => {
    const server = await withServer(t, variantOptions(variant, { frameTimeoutMs: 500, idleTimeoutMs: 0 }));
    const client = await connect(t, server);
    const frame = encodeFrame(Buffer.from('quick'), 64);
    for (let i = 0; i < 3; i++) {
      await client.sendRaw(frame.subarray(0, 10));
      await sleep(50);
      await client.sendRaw(frame.subarray(10));
      assert.equal(await client.readText(), ACK_TEXT);
      await sleep(400); // between frames: the frame timer is not running, idle is off
    }
    assert.equal(client.closed, false, client.describe());
  });

  test('idleTimeoutMs: a connection that sends no frame gets !ERROR TIMEOUT, then closes', async (t) => {
    const server = await withServer(t, variantOptions(variant, { idleTimeoutMs: 400 }));
    const started = performance.now();
    const client = await connect(t, server);
    const frames = await expectTimeout(client);
    assert.equal(frames.length, 1);
    assert.ok(performance.now() - started >= 350, 'not before the idle timeout');
  });

  test('idleTimeoutMs: part of a frame does not restart the idle timer (bytes trickle, TIMEOUT still comes)', async (t) => {
    // The frame timeout is long: if partial bytes restarted the idle timer, nothing would arrive for 60 s.
    const server = await withServer(t, variantOptions(variant, { idleTimeoutMs: 500, frameTimeoutMs: 60_000 }));
    const client = await connect(t, server);
    const frame = encodeFrame(Buffer.from('never finished'), 64);
    let stop = false;
    t.after(() => {
      stop = true;
    });
    const trickle = (async () => {
      for (let i = 0; i < frame.length - 1 && !stop && !client.closed; i++) {
        await client.sendRaw(frame.subarray(i, i + 1)).catch(() => {});
        await sleep(100);
      }
    })();
    await expectTimeout(client, 10_000);
    stop = true;
    await trickle;
  });

  test('idleTimeoutMs: each complete frame restarts the idle timer', async (t) => {
    const server = await withServer(t, variantOptions(variant, { idleTimeoutMs: 900 }));
    const client = await connect(t, server);
    // 15 frames 100 ms apart: 1.5 s in all, well past one idle timeout, never 900 ms without a frame.
    for (let i = 0; i < 15; i++) {
      await client.send(`keepalive ${i}`);
      assert.equal(await client.readText(), ACK_TEXT, `frame ${i} answered`);
      await sleep(100);
    }
    assert.equal(client.closed, false, client.describe());
    // Then silence: the idle timeout fires.
    await expectTimeout(client);
  });

  test('idleTimeoutMs 0 means never: a silent connection stays open and is served', async (t) => {
    const server = await withServer(t, variantOptions(variant, { idleTimeoutMs: 0 }));
    const client = await connect(t, server);
    assert.equal(await client.staysQuiet(1200), true, `no TIMEOUT, got ${client.describe()}`);
    await client.send('awake');
    assert.equal(await client.readText(), ACK_TEXT);
  });

  test('a timeout on one connection leaves the others unaffected', async (t) => {
    const server = await withServer(t, variantOptions(variant, { idleTimeoutMs: 600 }));
    const quiet = await connect(t, server);
    const busy = await connect(t, server);
    const done = expectTimeout(quiet);
    for (let i = 0; i < 12 && !quiet.closed; i++) {
      await busy.send('busy');
      assert.equal(await busy.readText(), ACK_TEXT);
      await sleep(100);
    }
    await done;
    await busy.send('after');
    assert.equal(await busy.readText(), ACK_TEXT);
    assert.equal(busy.closed, false);
  });
};
forEachVariant(timeoutCases);
forEachVariant(timeoutCases, { variants: TLS_VARIANTS });
