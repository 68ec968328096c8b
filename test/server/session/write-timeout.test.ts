// The write deadline (--write-timeout): a client that leaves the server's bytes unread
// above the high-water mark for that long gets !ERROR SLOW_CONSUMER after every reply
// already due, and is closed; one that stops reading for less than that loses nothing.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { encodeFrame } from '../../../src/protocol/index.ts';
import {
  connect,
  errorOf,
  forEachVariant,
  sleep,
  STRATEGY_VARIANTS,
  variantOptions,
  withServer,
  type ServerVariant,
  TLS_VARIANTS,
} from '../../helpers/wire.ts';

const PAYLOAD = 64 * 1024;
/** Echoes of this many bytes fill the server's 64 KiB high-water mark and both kernel buffers several times. */
const FRAMES = 400;

/** Declared twice: the TLS run after the plain ones, so that its CPU does not slow their timing. */
const writeTimeoutCases = (variant: ServerVariant): void => {
  for (const [writeTimeoutMs, pauseMs, expectError] of [
    [300, 1500, true],
    [3000, 500, false],
  ] as const) {
    const what = expectError ? 'gets SLOW_CONSUMER after its replies and is closed' : 'loses nothing';
    test(`write timeout ${writeTimeoutMs} ms, client not reading for ${pauseMs} ms: it ${what}`, async (t) => {
      const server = await withServer(
        t,
        variantOptions(variant, { mode: 'echo', highWaterMarkBytes: 64 * 1024, writeTimeoutMs }),
      );
      let echoes = 0;
      const errors: string[] = [];
      const counted = await connect(t, server, {
        keepFrames: false,
        onFrame: (payload) => {
          const err = errorOf(payload);
          if (err) errors.push(err.code);
          else if (payload.length === PAYLOAD) echoes++;
        },
      });
      counted.pause();
      const frame = encodeFrame(Buffer.alloc(PAYLOAD, 0x41), 64);
      // Pipeline without reading; stop writing when the server stops reading us (backpressure).
      let sent = 0;
      for (; sent < FRAMES; sent++) {
        if (!counted.socket.write(frame)) {
          const drained = await Promise.race([
            once(counted.socket, 'drain').then(() => true),
            sleep(200).then(() => false),
          ]);
          if (!drained) {
            sent++;
            break;
          }
        }
      }
      await sleep(pauseMs);
      counted.resume();
      if (expectError) {
        await counted.waitClose(10_000);
        assert.deepEqual(errors, ['SLOW_CONSUMER'], `errors: ${errors.join(', ')}`);
        assert.ok(echoes > 0, 'the replies already due came before the error');
      } else {
        await counted.until(() => echoes === sent, `${sent} echoes`, 10_000);
        assert.deepEqual(errors, []);
        assert.equal(counted.closedBy, null, 'still connected');
      }
    });
  }
};
forEachVariant(writeTimeoutCases, { variants: STRATEGY_VARIANTS });
forEachVariant(writeTimeoutCases, { variants: TLS_VARIANTS });
