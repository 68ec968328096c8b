// Replies keep order under load: 500 concurrent clients each pipelining 100 distinct
// echo messages in one write; every reply present, in order, none lost or duplicated.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeFrame } from '../../../src/protocol/index.ts';
import {
  connectMany,
  eventually,
  forEachVariant,
  STRATEGY_VARIANTS,
  variantOptions,
  withServer,
  TLS_VARIANTS,
} from '../../helpers/wire.ts';

const CLIENTS = 500;
const MESSAGES = 100;

/** Distinct payloads of varying length (1..~200 B) that say who sent them. */
function payloadFor(client: number, message: number): Buffer {
  const tag = `c${client}-m${message}|`;
  return Buffer.from(
    tag.padEnd(tag.length + ((client * 7 + message * 13) % 180), String.fromCharCode(97 + (message % 26))),
  );
}

forEachVariant(
  (variant) => {
    test(`${CLIENTS} concurrent clients x ${MESSAGES} pipelined echo messages: every reply present, in order, no loss or duplication`, async (t) => {
      const server = await withServer(t, variantOptions(variant, { mode: 'echo' }));
      const clients = await connectMany(t, server, CLIENTS, { keepFrames: true });
      await Promise.all(
        clients.map(async (client, c) => {
          const payloads = Array.from({ length: MESSAGES }, (_, m) => payloadFor(c, m));
          await client.sendRaw(Buffer.concat(payloads.map((p) => encodeFrame(p, 64))));
          const replies = await client.readFrames(MESSAGES, 60_000);
          for (let m = 0; m < MESSAGES; m++) {
            if (!replies[m]!.equals(payloads[m]!)) {
              assert.fail(
                `client ${c}, reply ${m}: got ${JSON.stringify(replies[m]!.toString().slice(0, 40))}, expected ${JSON.stringify(payloads[m]!.toString().slice(0, 40))}`,
              );
            }
          }
          // No extra (duplicated) replies.
          assert.equal(await client.staysQuiet(20), true, `client ${c}: ${client.describe()}`);
        }),
      );
      // Workers may report their counters a little later.
      await eventually(
        () => server.stats().messages === CLIENTS * MESSAGES,
        `stats().messages to reach ${CLIENTS * MESSAGES} (now ${server.stats().messages})`,
      );
    });
  },
  { variants: [...STRATEGY_VARIANTS, ...TLS_VARIANTS], variantConcurrency: false },
);
