// Flow control: a client that pipelines and never reads makes the server stop reading
// it (TCP backpressure), so server memory stays bounded; nothing is dropped; the
// timeouts stand still while the server itself has stopped reading.
//
// RSS is process-wide and the server runs in this process (its workers are threads
// of it), so the tests of this file run one at a time.
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { test } from 'node:test';
import { encodeFrame } from '../../../src/protocol/index.ts';
import {
  connect,
  errorOf,
  forEachVariant,
  STRATEGY_VARIANTS,
  sleep,
  variantOptions,
  withServer,
  type WireClient,
  TLS_VARIANTS,
} from '../../helpers/wire.ts';

const MiB = 1024 * 1024;

/** Resolves true once `bytes` are handed to the kernel, false if that takes longer than `blockedMs`. */
function writeOrBlock(socket: Socket, bytes: Buffer, blockedMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), blockedMs);
    socket.write(bytes, () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * Writes echo frames of `payloadBytes` (a 4-byte sequence number first) without reading,
 * until a write stays blocked for `blockedMs` or `capBytes` are written.
 * Returns how many frames were handed to write() (the last may still be queued).
 * One buffer is reused: it is rewritten only after its previous write completed.
 */
async function pipelineUntilBlocked(
  client: WireClient,
  payloadBytes: number,
  capBytes: number,
  blockedMs: number,
): Promise<{ frames: number; bytes: number; blocked: boolean }> {
  const frame = encodeFrame(Buffer.alloc(payloadBytes, 0x5a), 64);
  let frames = 0;
  let bytes = 0;
  while (bytes < capBytes) {
    frame.writeUInt32BE(frames, 64);
    frames++;
    bytes += frame.length;
    if (!(await writeOrBlock(client.socket, frame, blockedMs))) return { frames, bytes, blocked: true };
  }
  return { frames, bytes, blocked: false };
}

/** A client whose replies are checked on the fly: sequence numbers in order, right length. */
async function sequencedClient(
  t: Parameters<typeof connect>[0],
  server: { host: string; port: number },
  payloadBytes: number,
) {
  const state = { next: 0, problems: [] as string[], errors: [] as string[] };
  const client = await connect(t, server, {
    keepFrames: false,
    onFrame: (payload) => {
      const err = errorOf(payload);
      if (err) {
        state.errors.push(`${err.code} ${err.text}`);
        return;
      }
      if (payload.length !== payloadBytes) state.problems.push(`reply ${state.next}: ${payload.length} bytes`);
      else if (payload.readUInt32BE(0) !== state.next)
        state.problems.push(`reply ${state.next}: sequence ${payload.readUInt32BE(0)}`);
      state.next++;
    },
  });
  return { client, state };
}

forEachVariant(
  (variant) => {
    test('a client that pipelines echo messages and never reads is no longer read: server RSS grows < 100 MB, others are served, then every reply arrives in order', async (t) => {
      const server = await withServer(t, variantOptions(variant, { mode: 'echo' }));
      const payloadBytes = 64 * 1024;
      const other = await connect(t, server);
      await other.send('warm-up');
      await other.readText();
      const { client: hog, state } = await sequencedClient(t, server, payloadBytes);
      hog.pause();

      const rssBefore = process.memoryUsage().rss;
      let rssMax = rssBefore;
      const sampler = setInterval(() => {
        rssMax = Math.max(rssMax, process.memoryUsage().rss);
      }, 20);
      t.after(() => clearInterval(sampler));

      const sent = await pipelineUntilBlocked(hog, payloadBytes, 200 * MiB, 1500);
      assert.equal(
        sent.blocked,
        true,
        `the server kept reading: ${(sent.bytes / MiB).toFixed(0)} MiB written without blocking`,
      );

      // Meanwhile another client is served normally.
      for (let i = 0; i < 5; i++) {
        await other.send(`still served ${i}`);
        assert.equal(await other.readText(), `still served ${i}`);
      }
      await sleep(200);
      rssMax = Math.max(rssMax, process.memoryUsage().rss);
      clearInterval(sampler);
      const grownMiB = (rssMax - rssBefore) / MiB;
      t.diagnostic(
        `${variant.label}: wrote ${(sent.bytes / MiB).toFixed(1)} MiB (${sent.frames} frames) before blocking; RSS grew ${grownMiB.toFixed(1)} MiB`,
      );
      assert.ok(grownMiB < 100, `RSS grew by ${grownMiB.toFixed(1)} MiB`);

      // Now read: every reply, in order, nothing dropped.
      hog.resume();
      await hog.until(() => state.next + state.errors.length >= sent.frames, `${sent.frames} replies`, 60_000);
      assert.deepEqual(state.errors, []);
      assert.deepEqual(state.problems, []);
      assert.equal(state.next, sent.frames);
      assert.equal(await hog.staysQuiet(100), true, 'no extra reply');
    });

    test('timeouts stand still while the server has stopped reading for flow control (no TIMEOUT after a 2 s pause with 400 ms timeouts)', async (t) => {
      const server = await withServer(
        t,
        variantOptions(variant, { mode: 'echo', frameTimeoutMs: 400, idleTimeoutMs: 400, highWaterMarkBytes: 1024 }),
      );
      const payloadBytes = 16 * 1024;
      const { client: hog, state } = await sequencedClient(t, server, payloadBytes);
      hog.pause();
      const sent = await pipelineUntilBlocked(hog, payloadBytes, 200 * MiB, 500);
      assert.equal(sent.blocked, true, 'the server stopped reading');
      await sleep(2000); // five times both timeouts, while the server waits for us to read
      hog.resume();
      await hog.until(
        () => state.next + state.errors.length >= sent.frames || hog.closed,
        `${sent.frames} replies`,
        30_000,
      );
      assert.deepEqual(
        state.errors,
        [],
        `no error while paused by the server (got ${state.next} of ${sent.frames} replies)`,
      );
      assert.deepEqual(state.problems, []);
      assert.equal(state.next, sent.frames);
    });
  },
  { variants: [...STRATEGY_VARIANTS, ...TLS_VARIANTS], variantConcurrency: false },
);
